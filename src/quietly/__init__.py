"""quietly — self-hosted maintenance windows."""

__version__ = "0.1.0"
