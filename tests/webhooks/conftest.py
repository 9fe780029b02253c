"""Webhook tests: served systems that may send to a loopback receiver, and the receiver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from nxdocs.settings import Settings
from tests.support.api import MakeApi
from tests.webhooks.receiver import Receiver
from tests.webhooks.support import WEBHOOK_SETTINGS


@pytest.fixture
def api_settings(api_settings: Settings) -> Settings:
    """The suite's API settings, with webhooks to 127.0.0.1 allowed and quick retries."""
    return api_settings.model_copy(update=WEBHOOK_SETTINGS)


@pytest.fixture
def receiver(make_api: MakeApi) -> Iterator[Receiver]:
    """A receiver answering 200 until the test scripts it; let go and stopped at the end,
    before the servers (so no sender waits on a held reply while it stops)."""
    started = Receiver()
    started.start()
    yield started
    started.close()


@pytest.fixture
def second_receiver(make_api: MakeApi) -> Iterator[Receiver]:
    started = Receiver()
    started.start()
    yield started
    started.close()
