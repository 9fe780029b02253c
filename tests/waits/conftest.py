"""An in-process API on each database, without a worker: the tests drive each job by hand
(claim, progress, complete) through the real store, whose real notifier wakes the waits."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from nxdocs.api.app import NxdocsApp, create_app
from nxdocs.api.deps import Services
from nxdocs.poll.changes import JobChanges
from nxdocs.poll.wait_slots import WaitSlots
from nxdocs.settings import Settings
from nxdocs.system import System, build_system
from tests.support import handlers
from tests.support.api import contract_client
from tests.support.jobs import enqueue
from tests.support.server import serving
from tests.waits.support import FALLBACK_SECONDS, Running, User, claim_all


@dataclass
class WaitsApi:
    system: System
    app: NxdocsApp
    base_url: str
    http: httpx.Client
    """Contract-checked: every job and error body it receives is validated."""

    @property
    def services(self) -> Services:
        services: Services = self.app.api.state.services
        return services

    @property
    def slots(self) -> WaitSlots:
        return self.services.wait_slots

    @property
    def changes(self) -> JobChanges:
        return self.services.waits.changes

    def user(self, name: str = "waiter") -> User:
        created = self.system.keys.create(name, new_owner=True)
        return User(created.owner_id, created.secret)

    def enqueue(self, user: User) -> str:
        return enqueue(self.system, user.owner_id, {})

    def running(self, user: User) -> Running:
        """A new job of `user`, claimed: processing until the test ends it."""
        job_id = self.enqueue(user)
        return claim_all(self.system)[job_id]


MakeWaitsApi = Callable[..., WaitsApi]


@pytest.fixture
def make_waits_api(settings: Settings) -> Iterator[MakeWaitsApi]:
    """Serve systems built from the test's settings plus overrides; all stopped at the end."""
    stack = ExitStack()

    def make(**overrides: Any) -> WaitsApi:
        update: dict[str, Any] = {
            "poll_interval_seconds": FALLBACK_SECONDS,
            "rate_limit_per_second": 10_000,
            "rate_limit_burst": 10_000,
            **overrides,
        }
        system = build_system(settings.model_copy(update=update))
        stack.callback(system.close)
        handlers.install(system)
        app = create_app(system, embedded_worker=False)
        base_url = stack.enter_context(serving(app))
        http = stack.enter_context(contract_client(base_url=base_url))
        return WaitsApi(system, app, base_url, http)

    with stack:
        yield make


@pytest.fixture
def waits_api(make_waits_api: MakeWaitsApi) -> WaitsApi:
    return make_waits_api()
