"""The durable job engine: the job row is both the API resource and the queue entry."""
