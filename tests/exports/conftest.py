"""Export tests: the real `artifact.create` and `export.run` handlers behind a real server.

Unlike `tests/api`, nothing here installs scripted handlers: artifacts are
generated from Markdown (or by the scripted chat server standing in for a
language model) and exports are rendered by the real renderers, then fetched
over HTTP through their signed `download_url`, on SQLite and on PostgreSQL.
The served API, `make_api` and its callers are the suite-wide ones of
`tests/conftest.py` (`tests.support.api`), whose timings are the export tests'.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.api import contract_client


@pytest.fixture
def anonymous() -> Iterator[httpx.Client]:
    """A client with no API key at all, as a browser following a download link."""
    with contract_client() as http:
        yield http
