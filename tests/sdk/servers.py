"""Module-scoped served APIs for the SDK and CLI client tests.

Building a system and serving it costs about a second, so each test module
shares one server (`served`, with a worker) and, where it needs jobs that stay
processing, one without a worker (`idle`). Each test takes a new owner, so
lists never see another test's work. SQLite: the round-trip tests
(tests/sdk/test_round_trip.py) run on both databases with the function-scoped
`make_api`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from nxdocs.settings import Settings
from tests.support.api import MakeApi, api_maker
from tests.support.export_samples import PNG_DPI

DECK = "# Launch plan\n\n---\n\n## Goals\n\n- ship\n- learn\n\n---\n\n## Next\n\nMore."
"""Three slides of Markdown."""

TEST_SETTINGS: dict[str, Any] = {
    "lease_seconds": 30,
    "max_attempts": 3,
    "backoff_base_seconds": 0.01,
    "backoff_max_seconds": 0.05,
    "poll_interval_seconds": 0.2,
    "shutdown_grace_seconds": 2,
    "auth_cache_seconds": 0,
    "sync_wait_seconds": 60,
    "png_dpi": PNG_DPI,
    # Webhook receivers on 127.0.0.1, retried quickly.
    "webhook_allowed_networks": "127.0.0.0/8,::1/128",
    "webhook_backoff_base_seconds": 0.05,
    "webhook_backoff_max_seconds": 0.2,
}
"""The suite's `api_settings` (tests/conftest.py), with webhooks to loopback allowed."""


@contextmanager
def module_api_maker(folder: Path) -> Iterator[MakeApi]:
    """`make_api` for a whole module, on a SQLite file in `folder`.

    Built before any test's own fixtures run, so the developer's NXDOCS_*
    variables are cleared here as `_clean_environment` clears them per test.
    """
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("NXDOCS_") or name.lower().endswith("_proxy"):
                patch.delenv(name)
        settings = Settings(
            database_url=f"sqlite:///{folder / 'nxdocs.db'}",
            data_dir=folder / "data",
            **TEST_SETTINGS,
        )
    with api_maker(settings) as make:
        yield make


def idle_database(folder: Path) -> dict[str, Any]:
    """Overrides for another server of the module: no worker, its own SQLite file and
    data, so no worker ever runs its jobs; sync creates answer 202 at once."""
    return {
        "embedded_worker": False,
        "database_url": f"sqlite:///{folder / 'idle.db'}",
        "data_dir": folder / "idle",
        "sync_wait_seconds": 0,
    }
