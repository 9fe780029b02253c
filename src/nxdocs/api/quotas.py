"""The quota object shown on users (`GET /v1/me`) and organizations."""

from __future__ import annotations

from typing import Any

from nxdocs.clock import format_timestamp
from nxdocs.exports.quota import Quota
from nxdocs.system import System


def quota_object(system: System, owner_id: str) -> dict[str, Any]:
    """The owner's monthly export limit and this month's real usage."""
    quota = Quota.monthly(system.settings.monthly_export_limit, system.clock.now_ms())
    return {
        # nxdocs does not bill: no money limits, and no bonus credits.
        "monthly_free_cents_limit": 0,
        "monthly_free_cents_used": 0,
        "bonus_credits": 0,
        "document_export_limit": quota.limit,
        "document_export_used": system.exports.count_since(owner_id, quota.since_ms),
        "reset_date": format_timestamp(quota.resets_at_ms),
    }
