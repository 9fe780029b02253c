"""Which settings each command takes as flags, derived from the `Scope` on each field."""

from __future__ import annotations

from nxdocs.cli_options import fields_for
from nxdocs.settings import Scope, Settings


def marked(*scopes: Scope) -> set[str]:
    return {name for name in Settings.model_fields if Scope.of(name) in scopes}


def test_every_setting_is_marked_with_one_scope() -> None:
    kinds = (Scope.API, Scope.WORKER, Scope.BOTH, Scope.ALL)
    assert marked(*kinds) == set(Settings.model_fields)


def test_serve_takes_api_worker_and_shared_settings() -> None:
    serve = fields_for(Scope.API | Scope.WORKER)
    assert serve == tuple(Settings.model_fields)  # all of them, in the model's order
    assert set(serve) == marked(Scope.API, Scope.WORKER, Scope.BOTH, Scope.ALL)


def test_worker_takes_worker_and_shared_settings_only() -> None:
    worker = set(fields_for(Scope.WORKER))
    assert worker == marked(Scope.WORKER, Scope.BOTH, Scope.ALL)
    assert {"lease_seconds", "llm_base_url", "log_level", "data_dir"} <= worker
    assert {"host", "port", "sync_wait_seconds", "rate_limit_burst"}.isdisjoint(worker)


def test_one_shot_commands_take_only_where_the_database_is() -> None:
    assert fields_for(Scope.ADMIN) == ("data_dir", "database_url")
