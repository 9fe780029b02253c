"""The OpenAPI document tells the truth: Schemathesis fuzzes the app against its own /openapi.json.

Every operation of the document, with every check Schemathesis has (the
response time one at `MAX_RESPONSE_SECONDS`), authenticated, on both
databases, against the real uvicorn server with the real job handlers. The
first test runs Schemathesis's own engine, as `schemathesis run` does (every
phase: examples, coverage, fuzzing, stateful). The run is bounded and
reproducible: `FUZZ_EXAMPLES` examples per operation (10 by default) and a
fixed seed (`SEED`; hypothesis's `derandomize` for the second test). For a
larger run:

    FUZZ_EXAMPLES=500 .venv/bin/pytest -p no:cacheprovider tests/api/test_schemathesis.py

Nothing is left out. The signed download cannot be reached with a valid
signature by a fuzzer, so it is fuzzed for its refusals: 400, 403, 404 or 410,
never a 500.

Two request rules depend on what exists, which no schema can say: a
`brand_id` must be one of the owner's brands, and a list's `after` cursor an
item of that list. Valid-looking ids in those two places are swapped for
real ones (`Target.known_ids`), so a valid request stays valid; ids that
break the documented pattern are left alone, so an invalid one stays
invalid. Likewise export `pages` past the end of an artifact made earlier in
the run are a 400 (the one status added to positive_data_acceptance, for the
two export creates only).

The engine is driven directly rather than through Schemathesis's pytest
plugin: `schemathesis.pytest.from_fixture` (needed for a served app per
database) breaks on pytest 9.2 (it reads `Function._nodeid`).

`test_nul_and_lone_surrogates` then puts a NUL or a lone surrogate into every
string of the request (keys of JSON objects included) and expects a
documented 4xx. Only a JSON body can carry a lone surrogate (as a `\\udfff`
escape): a URL is UTF-8 percent-encoded, and U+DFFF has no UTF-8 form, so
path and query strings get the NUL only.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events, from_schema
from schemathesis.generation.case import Case
from schemathesis.hooks import GLOBAL_HOOK_DISPATCHER, HookContext
from schemathesis.schemas import APIOperation, BaseSchema
from schemathesis.specs.openapi.checks import positive_data_acceptance

from nxdocs.ids import ID_PATTERN
from tests.support.api import MakeApi

MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
SEED = 20260115
MAX_RESPONSE_SECONDS = 15.0
_AN_ID = re.compile(ID_PATTERN)
_BRAND_ID = re.compile(r"^brand_[a-z0-9]{1,60}$")
_POSITIVE_STATUSES = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
"""Schemathesis's default for positive_data_acceptance (5xx is not_a_server_error's)."""
_NEGATIVE_STATUSES = ["400", "401", "403", "404", "405", "406", "409", "415", "422", "428", "429"]
_NEGATIVE_STATUSES += ["5xx"]
"""Schemathesis's default for negative_data_rejection."""


@dataclass(frozen=True)
class Target:
    """The served app, its owner's key, and ids of things that owner has."""

    base_url: str
    auth: dict[str, str]
    artifact_id: str
    brand_id: str

    def schema(self, **checks: Any) -> BaseSchema:
        """The app's own /openapi.json, loaded with this run's settings."""
        config = SchemathesisConfig.from_dict(
            {
                "seed": SEED,
                # NUL bytes are `test_nul_and_lone_surrogates`'s, in every string;
                # here they would land in unknown fields, which the schema cannot forbid.
                "generation": {"max-examples": MAX_EXAMPLES, "allow-x00": False},
                "checks": {"max_response_time": MAX_RESPONSE_SECONDS, **checks},
                "headers": self.auth,
                "request-timeout": 60,
                "operations": [
                    {
                        # An upload's file must be an image nxdocs reads, which no schema
                        # can say (400). And Schemathesis marks some multipart draws negative
                        # that come out schema-valid, then cannot excuse them: its check of a
                        # form as sent refuses file parts (jsonschema_rs: "Unsupported type:
                        # 'Binary'"). So a 201 there is no accepted negative;
                        # tests/assets holds the upload's refusals.
                        "include-path-regex": "^/v1/assets$",
                        "include-method": "POST",
                        "checks": {
                            "positive_data_acceptance": {
                                "expected-statuses": [*_POSITIVE_STATUSES, "400"]
                            },
                            "negative_data_rejection": {
                                "expected-statuses": [*_NEGATIVE_STATUSES, "201"]
                            },
                        },
                    },
                    {
                        # A webhook URL must resolve to public addresses, which no schema
                        # can say (400): a fuzzed host resolves to none here.
                        "include-path-regex": "^/v1/webhook_endpoints(/[^/]+)?$",
                        "include-method-regex": "^(POST|PATCH)$",
                        "checks": {
                            "positive_data_acceptance": {
                                "expected-statuses": [*_POSITIVE_STATUSES, "400"]
                            }
                        },
                    },
                    {
                        # Pages past the artifact's end are a 400 (the artifact comes
                        # from an earlier call of the stateful phase); no schema can say so.
                        "include-path-regex": "^/v1/exports(/async)?$",
                        "include-method": "POST",
                        "checks": {
                            "positive_data_acceptance": {
                                "expected-statuses": [*_POSITIVE_STATUSES, "400"]
                            }
                        },
                    },
                ],
            }
        )
        return schemathesis.openapi.from_url(f"{self.base_url}/openapi.json", config=config)

    def known_ids(self, body: Any, query: dict[str, Any] | None, path: str) -> tuple[Any, Any]:
        """`body` and `query` with valid-looking brand and cursor ids swapped for real ones."""
        if isinstance(body, dict) and _BRAND_ID.match(str(body.get("brand_id"))):
            body = {**body, "brand_id": self.brand_id}
        after = (query or {}).get("after")
        if isinstance(after, str) and _AN_ID.match(after):
            real = self.brand_id if path == "/v1/brands" else self.artifact_id
            query = {**(query or {}), "after": real}
        return body, query


@pytest.fixture
def target(make_api: MakeApi) -> Target:
    # A rate limit the fuzzer never reaches (429 is documented, but teaches nothing
    # here). No worker runs while it fuzzes: a generated megabyte of Markdown
    # would keep a handler thread parsing long after the test (threads cannot be
    # stopped), so creates stay queued and sync ones answer 202 after a short wait.
    served = make_api(
        rate_limit_per_second=1_000_000.0,
        rate_limit_burst=1_000_000,
        sync_wait_seconds=0.2,
        embedded_worker=False,
    )
    owner = served.caller("fuzz")
    brand = served.system.brands.create(owner.owner_id, "Fuzz", None, None)
    with served.worker():  # one ready artifact to export
        artifact = owner.generated({"content": "# Fuzz"})
    return Target(served.base_url, owner.auth, artifact["id"], brand.id)


def test_api_matches_its_openapi(target: Target) -> None:
    schema = target.schema()

    # `before_call` sees every request of every phase (the coverage phase skips
    # the `map_*` hooks); Schemathesis has it on the global dispatcher only.
    def before_call(context: HookContext, case: Case, kwargs: dict[str, Any]) -> None:
        case.body, case.query = target.known_ids(case.body, case.query, case.operation.path)

    schemathesis.hook(before_call)
    try:
        started = time.monotonic()
        finished, problems = _run(schema)
    finally:
        GLOBAL_HOOK_DISPATCHER.unregister(before_call)
    scenarios = sum(1 for event in finished if isinstance(event, events.ScenarioFinished))
    cases = sum(len(event.recorder.cases) for event in finished)
    print(  # the run's figures, shown with -s
        f"schemathesis: {len(list(schema.get_all_operations()))} operations, "
        f"{scenarios} scenarios, {cases} cases in {time.monotonic() - started:.1f}s"
    )
    assert not problems, "\n\n".join(problems)


def _run(schema: BaseSchema) -> tuple[list[events.ScenarioFinished], list[str]]:
    finished: list[events.ScenarioFinished] = []
    problems: list[str] = []
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            finished.append(event)
            problems.extend(_failures(event))
        elif isinstance(event, events.NonFatalError | events.FatalError):
            problems.append(f"error: {getattr(event, 'label', '')} {event}")
        elif isinstance(event, events.EngineFinished):
            problems.extend(f"failure: {failure}" for failure in event.failures)
    return finished, problems


def _failures(event: events.ScenarioFinished) -> Iterator[str]:
    for case_id, checks in event.recorder.checks.items():
        for check in checks:
            if check.status == Status.FAILURE:
                case = event.recorder.cases[case_id].value
                yield f"{check.name} on {case.method} {case.formatted_path}: {check.failure_info}"


def test_nul_and_lone_surrogates(target: Target) -> None:
    schema = target.schema()
    operations = [result.ok() for result in schema.get_all_operations()]
    session = requests.Session()
    for operation in operations:
        _spoil_every_string(operation, target, session)


def _spoil_every_string(operation: APIOperation, target: Target, session: requests.Session) -> None:
    @given(case=operation.as_strategy(), data=st.data())
    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Case, data: st.DataObject) -> None:
        case.body, case.query = target.known_ids(case.body, case.query, operation.path)
        spoiled = _inject(case, data.draw)
        response = case.call(session=session, headers=target.auth, timeout=60)
        # The request is no longer the valid one it may have been generated as.
        case.validate_response(
            response, headers=target.auth, excluded_checks=[positive_data_acceptance]
        )
        if spoiled:
            assert 400 <= response.status_code < 500, (
                case.method,
                case.formatted_path,
                response.text,
            )

    check()


def _inject(case: Case, draw: Callable[[st.SearchStrategy[Any]], Any]) -> int:
    """Put a NUL or a lone surrogate into every string of the request; how many strings."""
    count = 0

    def spoil(text: str, chars: list[str]) -> str:
        nonlocal count
        count += 1
        char = draw(st.sampled_from(chars))
        at = draw(st.integers(0, len(text)))
        return text[:at] + char + text[at:]

    def in_json(value: Any) -> Any:
        if isinstance(value, str):
            return spoil(value, ["\x00", "\udfff"])
        if isinstance(value, list):
            return [in_json(item) for item in value]
        if isinstance(value, dict):
            return {spoil(key, ["\x00", "\udfff"]): in_json(item) for key, item in value.items()}
        return value

    def in_url(values: dict[str, Any] | None) -> dict[str, Any] | None:
        if not values:
            return values
        return {
            name: spoil(value, ["\x00"]) if isinstance(value, str) else value
            for name, value in values.items()
        }

    if case.body is not None and case.media_type == "application/json":
        # Sent as the bytes a JSON encoder makes (`"\\udfff"`, escaped), since
        # Schemathesis cannot re-validate a str holding a lone surrogate.
        case.body = json.dumps(in_json(case.body)).encode()
    case.path_parameters = in_url(case.path_parameters)
    case.query = in_url(case.query)
    return count
