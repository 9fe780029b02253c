"""Fixtures of the SDK and CLI client tests: one served API per module, and per test a
new owner's client, or the `nxdocs` command run through Typer's runner with its key."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from nxdocs import Client
from nxdocs.cli import app
from tests.sdk.servers import idle_database, module_api_maker
from tests.support.api import MakeApi, ServedApi


@pytest.fixture(scope="module")
def module_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sdk")


@pytest.fixture(scope="module")
def module_make_api(module_folder: Path) -> Iterator[MakeApi]:
    with module_api_maker(module_folder) as make:
        yield make


@pytest.fixture(scope="module")
def served(module_make_api: MakeApi) -> ServedApi:
    """This module's server, with a worker: jobs run."""
    return module_make_api()


@pytest.fixture(scope="module")
def idle(module_make_api: MakeApi, module_folder: Path) -> ServedApi:
    """This module's server without a worker (and its own database): jobs stay processing."""
    return module_make_api(**idle_database(module_folder))


@pytest.fixture
def client(served: ServedApi) -> Iterator[Client]:
    """A new owner's client of `served`."""
    with Client(served.caller("sdk").key, base_url=served.base_url) as made:
        yield made


@pytest.fixture
def idle_client(idle: ServedApi) -> Iterator[Client]:
    with Client(idle.caller("sdk").key, base_url=idle.base_url) as made:
        yield made


Run = Callable[..., Result]


def runner_for(api: ServedApi) -> Run:
    """`run(*args, input=None)`: `nxdocs *args` as a new owner of `api`, keyed by the
    environment, as a user's shell would."""
    env = {"NXDOCS_BASE_URL": api.base_url, "NXDOCS_API_KEY": api.caller("cli").key}

    def run(*args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(app, list(args), env=env, input=input)

    return run


@pytest.fixture
def run(served: ServedApi) -> Run:
    return runner_for(served)


@pytest.fixture
def run_idle(idle: ServedApi) -> Run:
    return runner_for(idle)
