"""The `Content-Disposition` a downloaded export carries: nxdocs's own download
route sends it, and a presigned object-store URL asks the store to send the same."""

from __future__ import annotations

from urllib.parse import quote


def attachment_disposition(file_name: str) -> str:
    """Save as `file_name`: quoted for old clients, and in RFC 6266's UTF-8 form."""
    return f"attachment; filename=\"{file_name}\"; filename*=UTF-8''{quote(file_name)}"
