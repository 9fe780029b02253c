"""Exports: artifacts rendered to files by `export.run` jobs."""
