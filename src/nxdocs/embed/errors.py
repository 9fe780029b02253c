"""Why a viewer token is refused; the API turns each into its HTTP error."""

from __future__ import annotations


class EmbedLinkError(Exception):
    """Base class: the token opens nothing."""


class InvalidLinkError(EmbedLinkError):
    """The token is not one nxdocs signed: malformed, tampered, or for another artifact."""


class ExpiredLinkError(EmbedLinkError):
    """The token was signed by nxdocs but its expiry has passed."""
