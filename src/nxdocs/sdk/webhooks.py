"""Verifying webhook requests in a receiver (Standard Webhooks, as nxdocs signs them)."""

from __future__ import annotations

import binascii
from collections.abc import Mapping

import pydantic
import standardwebhooks

from nxdocs.sdk.errors import WebhookVerificationError
from nxdocs.sdk.models import WebhookEvent


def verify(payload: bytes | str, headers: Mapping[str, str], secret: str) -> WebhookEvent:
    """The event of a webhook request, once its signature and timestamp check out.

    `payload` is the request body exactly as received, `headers` its headers
    (any mapping; `webhook-id`, `webhook-timestamp`, `webhook-signature` are
    read whatever their case), `secret` the endpoint's `whsec_...`. Raises
    `WebhookVerificationError` for a forged, altered or stale (over five
    minutes) request.
    """
    try:
        body = standardwebhooks.Webhook(secret).verify(payload, dict(headers.items()))
    except standardwebhooks.WebhookVerificationError as exc:
        raise WebhookVerificationError(f"The webhook does not verify: {exc}") from None
    except binascii.Error:  # not a whsec_ secret in base64
        raise WebhookVerificationError("The secret is not an endpoint's whsec_ secret.") from None
    try:
        return WebhookEvent.model_validate(body)
    except pydantic.ValidationError:
        raise WebhookVerificationError("The webhook verifies but is not an nxdocs event.") from None


class Webhooks:
    """`client.webhooks`: helpers for receivers; they make no request."""

    @staticmethod
    def verify(payload: bytes | str, headers: Mapping[str, str], secret: str) -> WebhookEvent:
        """See `nxdocs.sdk.webhooks.verify`."""
        return verify(payload, headers, secret)
