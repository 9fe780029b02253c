"""Artifact tests: the real `artifact.create` handler behind a real server, on both databases.

Unlike `tests/api`, nothing here installs scripted handlers: jobs run the real
generators (Markdown, outline, or the language model against the scripted
chat server of `tests.support.chat_server`, running in this process). The
served API, `make_api` and its callers are the suite-wide ones of
`tests/conftest.py` (`tests.support.api`); the default server generates
prompts without a language model, so they get outlines.
"""

from __future__ import annotations

import pytest

from nxdocs.settings import Settings


@pytest.fixture
def api_settings(api_settings: Settings) -> Settings:
    """Quicker than the exports' defaults; with `make_api(llm=...)`, a 10 s model timeout
    and two attempts per request."""
    return api_settings.model_copy(
        update={
            "shutdown_grace_seconds": 1,
            "sync_wait_seconds": 30,
            "llm_timeout_seconds": 10.0,
            "llm_max_attempts": 2,
        }
    )
