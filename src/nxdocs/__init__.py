"""nxdocs: a self-hosted server for the NextDocs public API v1."""

__version__ = "0.1.0"
