"""Idempotency keys: each owner's keys, the request each was first used with, and its response."""
