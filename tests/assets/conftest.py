"""Asset tests: the served API of `tests/conftest.py` (`api`, `alice`, `bob`,
`make_api`: real handlers, SQLite and PostgreSQL), and a client without a key
for the signed image links."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.api import contract_client


@pytest.fixture
def anonymous() -> Iterator[httpx.Client]:
    """A client with no API key at all, as a browser following a signed link."""
    with contract_client() as http:
        yield http
