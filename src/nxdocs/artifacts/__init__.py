"""Artifacts: generated documents and presentations, made by `artifact.create` jobs."""
