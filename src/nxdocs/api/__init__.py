"""The HTTP API: FastAPI app, auth middleware, error handling and routes."""
