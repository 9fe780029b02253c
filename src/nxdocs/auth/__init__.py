"""Owners and their API keys: created by the CLI, checked on every /v1 request."""
