"""Persistence: SQLAlchemy 2 tables, the engine factory, repositories and Alembic migrations."""
