"""Outbound connections to hosts that users name: image fetches and webhook deliveries."""
