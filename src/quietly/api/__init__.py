"""HTTP: the FastAPI application, the native API, and the compatibility APIs' mounting."""
