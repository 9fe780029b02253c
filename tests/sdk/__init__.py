"""SDK tests: `nxdocs.Client` and `nxdocs.AsyncClient` against a real served API."""
