"""Webhooks after the Standard Webhooks spec: endpoints, deliveries queued in the
transaction that ends a job, and the workers' sender that signs and retries them."""
