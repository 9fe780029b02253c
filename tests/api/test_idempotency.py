"""Idempotency-Key on the four routes that create work, on both databases.

The served system has no worker unless a test starts one, so created jobs stay
queued and the `jobs` table counts exactly what the requests made. The clock
is a `ManualClock`: locks and lifetimes run out when a test moves it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest

from nxdocs.api.errors import ValidationFailedError
from nxdocs.api.idempotency import fingerprint, parse_key
from nxdocs.artifacts.model import ArtifactCreate
from nxdocs.artifacts.requests import new_artifact
from nxdocs.db.schema import artifacts, exports, idempotency_keys, jobs
from nxdocs.exports.quota import Quota
from nxdocs.idempotency.model import Created, Held, InProgress, Replay, Reused
from nxdocs.idempotency.store import IdempotencyStore, KeyTakenOverError
from tests.support.api import Caller, MakeApi, ServedApi
from tests.support.clock import ManualClock
from tests.support.waiting import wait_until

DECK = {"content": "# Deck\n\n---\n\n## A slide", "name": "Deck"}
LIFETIME_SECONDS = 600
KEY = "order-7f3a/retry safe:1"  # printable ASCII, spaces and punctuation included


@pytest.fixture
def served(make_api: MakeApi, clock: ManualClock) -> ServedApi:
    # Only tests that start a worker call the sync routes (and get their 201).
    return make_api(
        clock=clock,
        embedded_worker=False,
        sync_wait_seconds=30,
        idempotency_key_seconds=LIFETIME_SECONDS,
    )


@pytest.fixture
def alice(served: ServedApi) -> Caller:
    return served.caller("alice")


@pytest.fixture
def store(served: ServedApi) -> IdempotencyStore:
    return served.system.idempotency


def post(caller: Caller, path: str, body: Any, key: str | None = KEY) -> httpx.Response:
    headers = {} if key is None else {"Idempotency-Key": key}
    return caller.post(path, json=body, headers=headers)


def error_code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


def fingerprint_of(path: str, body: Any) -> str:
    return fingerprint("POST", path, orjson.dumps(body))


@dataclass(frozen=True)
class Route:
    path: str
    created: int  # the status a create answers with a worker running

    def body(self, artifact_id: str) -> dict[str, Any]:
        if self.path.startswith("/v1/exports"):
            return {"artifact_id": artifact_id, "format": "html"}
        return DECK


ROUTES = [
    Route("/v1/artifacts/async", 202),
    Route("/v1/artifacts", 201),
    Route("/v1/exports/async", 202),
    Route("/v1/exports", 201),
]


@pytest.fixture
def worker(served: ServedApi) -> Iterator[None]:
    with served.worker():
        yield


# -- replay ---------------------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.path)
def test_the_same_key_and_request_replays_the_first_response(
    served: ServedApi, alice: Caller, worker: None, route: Route
) -> None:
    artifact = alice.generated({"content": "# To export"})
    body = route.body(artifact["id"])
    before = served.count(jobs)
    first = post(alice, route.path, body)
    assert first.status_code == route.created, first.text
    assert "Idempotent-Replayed" not in first.headers
    assert served.count(jobs) == before + 1
    # The same JSON written another way (key order, spacing) is the same request.
    again = alice.post(
        route.path,
        content=orjson.dumps(dict(reversed(body.items())), option=orjson.OPT_INDENT_2),
        headers={"Idempotency-Key": KEY, "Content-Type": "application/json"},
    )
    assert again.status_code == first.status_code
    assert again.content == first.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert served.count(jobs) == before + 1, "a replay makes no job"


def test_without_the_header_every_request_creates(served: ServedApi, alice: Caller) -> None:
    ids = {post(alice, "/v1/artifacts/async", DECK, key=None).json()["id"] for _ in range(2)}
    assert len(ids) == 2
    assert served.count(jobs) == 2
    assert served.count(idempotency_keys) == 0


def test_the_same_key_with_another_request_is_409_reused(served: ServedApi, alice: Caller) -> None:
    assert post(alice, "/v1/artifacts/async", DECK).status_code == 202
    other_body = post(alice, "/v1/artifacts/async", {**DECK, "name": "Another"})
    other_path = post(alice, "/v1/artifacts", DECK)
    for refused in (other_body, other_path):
        assert refused.status_code == 409, refused.text
        assert error_code(refused) == "IDEMPOTENCY_KEY_REUSED"
        assert "different request" in refused.json()["error"]["message"]
        assert "Idempotent-Replayed" not in refused.headers
    assert served.count(jobs) == 1
    # The key still replays its own request.
    assert post(alice, "/v1/artifacts/async", DECK).headers["Idempotent-Replayed"] == "true"


def test_keys_are_per_owner(served: ServedApi, alice: Caller) -> None:
    bob = served.caller("bob")
    mine = post(alice, "/v1/artifacts/async", DECK)
    theirs = post(bob, "/v1/artifacts/async", DECK)
    assert mine.status_code == theirs.status_code == 202
    assert "Idempotent-Replayed" not in theirs.headers
    assert mine.json()["id"] != theirs.json()["id"]
    assert served.count(jobs) == 2
    # Each owner's key replays its own response, not the other's.
    assert post(bob, "/v1/artifacts/async", DECK).content == theirs.content


# -- the header -----------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [b"", b"k" * 256, b"tab\there", "caf\u00e9".encode(), b"\xff"],
    ids=["empty", "256 characters", "tab", "non-ASCII", "latin-1 byte"],
)
def test_a_malformed_key_is_400_naming_the_header(
    served: ServedApi, alice: Caller, value: bytes
) -> None:
    response = served.http.post(
        "/v1/artifacts/async", json=DECK, headers=[*alice.auth.items(), ("Idempotency-Key", value)]
    )
    assert response.status_code == 400, response.text
    assert error_code(response) == "VALIDATION_ERROR"
    assert [detail["field"] for detail in response.json()["error"]["details"]] == [
        "Idempotency-Key"
    ]
    assert served.count(jobs) == 0
    assert served.count(idempotency_keys) == 0


def test_two_keys_in_one_request_are_400(served: ServedApi, alice: Caller) -> None:
    headers = [*alice.auth.items(), ("Idempotency-Key", "a"), ("Idempotency-Key", "b")]
    response = served.http.post("/v1/artifacts/async", json=DECK, headers=headers)
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "Idempotency-Key"
    assert served.count(jobs) == 0


def test_the_longest_key_is_accepted(served: ServedApi, alice: Caller) -> None:
    # Every printable character; none at either end is a space (HTTP trims those).
    key = ("".join(chr(code) for code in range(0x21, 0x7F)) + " ") * 3
    assert post(alice, "/v1/artifacts/async", DECK, key=key[:255]).status_code == 202


@pytest.mark.parametrize("value", [b"\x00", b"a\x01b", b"\x1f", b"\x7f", b"line\nbreak"], ids=repr)
def test_control_characters_are_not_a_key(value: bytes) -> None:
    """What no HTTP parser lets through, checked on the parser's own terms."""
    with pytest.raises(ValidationFailedError) as refused:
        parse_key([value])
    assert refused.value.details == [
        {"field": "Idempotency-Key", "message": refused.value.details[0]["message"]}
    ]


def test_printable_ascii_is_a_key() -> None:
    assert parse_key([b" ~!"]) == " ~!"
    assert parse_key([b"k" * 255]) == "k" * 255


def test_the_fingerprint_is_of_method_path_and_canonical_body() -> None:
    base = fingerprint("POST", "/v1/artifacts", b'{"a": 1, "b": [1, 2]}')
    assert fingerprint("POST", "/v1/artifacts", b'{"b":[1,2],"a":1}') == base
    assert fingerprint("POST", "/v1/artifacts/async", b'{"a": 1, "b": [1, 2]}') != base
    assert fingerprint("PUT", "/v1/artifacts", b'{"a": 1, "b": [1, 2]}') != base
    assert fingerprint("POST", "/v1/artifacts", b'{"a": 1, "b": [2, 1]}') != base
    # A body that does not parse is taken as its bytes.
    assert fingerprint("POST", "/v1/artifacts", b"{not json") == fingerprint(
        "POST", "/v1/artifacts", b"{not json"
    )
    assert fingerprint("POST", "/v1/artifacts", b"{not json") != fingerprint(
        "POST", "/v1/artifacts", b"{not  json"
    )


# -- what is saved, what is released ----------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        {**DECK, "theme_id": "theme_nope"},  # refused by the route, after the key was claimed
        {**DECK, "page_count": 0},  # refused by the body model
        {"name": "no content"},
    ],
    ids=["unknown theme", "page_count 0", "no content"],
)
def test_a_400_releases_the_key_for_the_fixed_request(
    served: ServedApi, alice: Caller, store: IdempotencyStore, bad: dict[str, Any]
) -> None:
    refused = post(alice, "/v1/artifacts/async", bad)
    assert refused.status_code == 400, refused.text
    assert store.get(alice.owner_id, KEY) is None
    fixed = post(alice, "/v1/artifacts/async", DECK)
    assert fixed.status_code == 202, fixed.text
    assert "Idempotent-Replayed" not in fixed.headers
    assert served.count(jobs) == 1
    assert post(alice, "/v1/artifacts/async", DECK).content == fixed.content


def test_a_429_releases_the_key(served: ServedApi, alice: Caller, store: IdempotencyStore) -> None:
    served.system.store.max_active_per_owner = 1
    assert post(alice, "/v1/artifacts/async", DECK, key=None).status_code == 202
    refused = post(alice, "/v1/artifacts/async", DECK)
    assert refused.status_code == 429
    assert store.get(alice.owner_id, KEY) is None
    served.system.store.max_active_per_owner = 0  # no cap
    created = post(alice, "/v1/artifacts/async", DECK)
    assert created.status_code == 202
    assert "Idempotent-Replayed" not in created.headers
    assert served.count(jobs) == 2


def test_a_404_is_saved_and_replayed(served: ServedApi, alice: Caller) -> None:
    gone = alice.create(DECK)["id"]
    assert alice.delete(f"/v1/artifacts/{gone}").status_code == 200
    body = {"artifact_id": gone, "format": "pdf"}
    first = post(alice, "/v1/exports/async", body)
    assert first.status_code == 404
    again = post(alice, "/v1/exports/async", body)
    assert (again.status_code, again.content) == (404, first.content)
    assert again.headers["Idempotent-Replayed"] == "true"
    reused = post(alice, "/v1/exports/async", {**body, "format": "html"})
    assert error_code(reused) == "IDEMPOTENCY_KEY_REUSED"
    assert served.count(exports) == 0


def test_a_request_in_progress_holds_its_key(make_api: MakeApi, clock: ManualClock) -> None:
    """A sync create waits for its job (no worker yet); the same key meanwhile is
    409 CONFLICT, and once it has answered, the replay of its answer."""
    served = make_api(clock=clock, embedded_worker=False, sync_wait_seconds=30)
    alice = served.caller("alice")
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(post, alice, "/v1/artifacts", DECK)
        wait_until(lambda: served.count(artifacts) == 1, timeout=10)
        busy = post(alice, "/v1/artifacts", DECK)
        assert busy.status_code == 409, busy.text
        assert error_code(busy) == "CONFLICT"
        assert "in progress" in busy.json()["error"]["message"]
        assert busy.headers["Retry-After"] == "1"
        with served.worker():
            answered = first.result(timeout=30)
    assert answered.status_code == 201, answered.text
    assert answered.json()["status"] == "ready"
    replayed = post(alice, "/v1/artifacts", DECK)
    assert (replayed.status_code, replayed.content) == (201, answered.content)
    assert served.count(jobs) == 1


# -- lifetime and crashes -------------------------------------------------------------


def test_an_expired_key_counts_as_never_used(
    served: ServedApi, alice: Caller, clock: ManualClock
) -> None:
    first = post(alice, "/v1/artifacts/async", DECK)
    clock.advance(LIFETIME_SECONDS - 1)
    assert post(alice, "/v1/artifacts/async", DECK).content == first.content
    clock.advance(1)
    second = post(alice, "/v1/artifacts/async", DECK)
    assert second.status_code == 202
    assert "Idempotent-Replayed" not in second.headers
    assert second.json()["id"] != first.json()["id"]
    clock.advance(LIFETIME_SECONDS)
    other = post(alice, "/v1/artifacts/async", {**DECK, "name": "Other"})
    assert other.status_code == 202, "an expired key is free for any request"
    assert served.count(jobs) == 3


def test_a_stale_key_that_created_nothing_is_taken_over(
    served: ServedApi, alice: Caller, store: IdempotencyStore, clock: ManualClock
) -> None:
    """A request died holding the key before it created anything."""
    held = store.claim(alice.owner_id, KEY, fingerprint_of("/v1/artifacts/async", DECK))
    assert isinstance(held, Held)
    assert error_code(post(alice, "/v1/artifacts/async", DECK)) == "CONFLICT"
    clock.advance(store.lock_ms / 1000)
    taken = post(alice, "/v1/artifacts/async", DECK)
    assert taken.status_code == 202, taken.text
    assert "Idempotent-Replayed" not in taken.headers
    assert served.count(jobs) == 1
    assert post(alice, "/v1/artifacts/async", DECK).content == taken.content


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.path)
def test_a_stale_key_that_created_a_resource_answers_with_it(  # noqa: PLR0917 (fixtures)
    served: ServedApi,
    alice: Caller,
    store: IdempotencyStore,
    clock: ManualClock,
    worker: None,
    route: Route,
) -> None:
    """A request died after its create committed: the retry answers with that resource,
    as the route would (202 as created; the sync route 201 once it is done)."""
    artifact = alice.generated({"content": "# To export"})
    body = route.body(artifact["id"])
    held = store.claim(alice.owner_id, KEY, fingerprint_of(route.path, body))
    assert isinstance(held, Held)
    record = store.recorder(alice.owner_id, KEY, held.token)
    system = served.system
    if route.path.startswith("/v1/exports"):
        quota = Quota.monthly(100, clock.now_ms())
        made = system.exports.create(
            alice.owner_id, artifact["id"], "html", None, quota, on_created=record
        )
    else:
        new = new_artifact(
            alice.owner_id,
            ArtifactCreate.model_validate(body),
            max_content_bytes=system.settings.max_content_bytes,
            find_brand=lambda _: None,
        )
        made = system.artifacts.create(new, on_created=record)
    before = served.count(jobs)
    clock.advance(store.lock_ms / 1000)
    answer = post(alice, route.path, body)
    assert answer.status_code == route.created, answer.text
    assert answer.json()["id"] == made.id
    assert answer.json()["job_id"] == made.job_id
    assert served.count(jobs) == before, "the retry created nothing"
    replay = post(alice, route.path, body)
    assert (replay.status_code, replay.content) == (answer.status_code, answer.content)


def test_a_taken_over_holder_can_no_longer_create(
    served: ServedApi, alice: Caller, store: IdempotencyStore, clock: ManualClock
) -> None:
    """The fence: the old holder's create is rolled back, its save and release change nothing."""
    fp = fingerprint_of("/v1/artifacts/async", DECK)
    old = store.claim(alice.owner_id, KEY, fp)
    clock.advance(store.lock_ms / 1000)
    new = store.claim(alice.owner_id, KEY, fp)
    assert isinstance(old, Held)
    assert isinstance(new, Held)
    assert new.token > old.token
    assert new.created is None
    assert isinstance(store.claim(alice.owner_id, KEY, fp), InProgress), "one taker only"
    system = served.system
    artifact = new_artifact(
        alice.owner_id,
        ArtifactCreate.model_validate(DECK),
        max_content_bytes=system.settings.max_content_bytes,
        find_brand=lambda _: None,
    )
    with pytest.raises(KeyTakenOverError):
        system.artifacts.create(artifact, on_created=store.recorder(alice.owner_id, KEY, old.token))
    assert (served.count(artifacts), served.count(jobs)) == (0, 0)
    assert not store.save(alice.owner_id, KEY, old.token, 201, b"{}")
    store.release(alice.owner_id, KEY, old.token)
    row = store.get(alice.owner_id, KEY)
    assert row is not None
    assert row.locked_until == new.token
    made = system.artifacts.create(
        artifact, on_created=store.recorder(alice.owner_id, KEY, new.token)
    )
    assert store.save(alice.owner_id, KEY, new.token, 202, b'{"id": 1}')
    assert store.claim(alice.owner_id, KEY, fp) == Replay(202, b'{"id": 1}')
    assert store.claim(alice.owner_id, KEY, "another request") == Reused()
    stored = store.get(alice.owner_id, KEY)
    assert stored is not None
    assert stored.created == Created(made.id, made.job_id)


def test_a_release_after_the_create_keeps_what_it_made(
    served: ServedApi, alice: Caller, store: IdempotencyStore
) -> None:
    """A request that fails after its create committed (a 503 while it waits) frees its
    key at once, but bound to its resource: the retry takes it over and answers with it."""
    fp = fingerprint_of("/v1/artifacts/async", DECK)
    held = store.claim(alice.owner_id, KEY, fp)
    assert isinstance(held, Held)
    system = served.system
    new = new_artifact(
        alice.owner_id,
        ArtifactCreate.model_validate(DECK),
        max_content_bytes=system.settings.max_content_bytes,
        find_brand=lambda _: None,
    )
    made = system.artifacts.create(new, on_created=store.recorder(alice.owner_id, KEY, held.token))
    store.release(alice.owner_id, KEY, held.token)
    assert store.claim(alice.owner_id, KEY, "another request") == Reused()
    answer = post(alice, "/v1/artifacts/async", DECK)  # no clock change: unlocked already
    assert answer.status_code == 202, answer.text
    assert answer.json()["id"] == made.id
    assert served.count(jobs) == 1


# -- concurrency ------------------------------------------------------------------


@pytest.mark.parametrize("stale", [False, True], ids=["fresh key", "stale key"])
def test_concurrent_duplicates_create_one_job(
    served: ServedApi,
    alice: Caller,
    store: IdempotencyStore,
    clock: ManualClock,
    stale: bool,
) -> None:
    """50 requests with one key at once: one job, and one answer for all of them
    (a request that meets the first in progress retries, as told, until it is done)."""
    if stale:  # a request died holding the key; the 50 race to take it over
        store.claim(alice.owner_id, KEY, fingerprint_of("/v1/artifacts/async", DECK))
        clock.advance(store.lock_ms / 1000)

    def until_answered(_: int) -> httpx.Response:
        def answered() -> httpx.Response | None:
            response = post(alice, "/v1/artifacts/async", DECK)
            busy = response.status_code == 409 and error_code(response) == "CONFLICT"
            return None if busy else response

        return wait_until(answered, timeout=60, interval=0.01)

    with ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(until_answered, range(50)))
    assert {(answer.status_code, answer.content) for answer in answers} == {
        (202, answers[0].content)
    }
    originals = [answer for answer in answers if "Idempotent-Replayed" not in answer.headers]
    assert len(originals) == 1, "exactly one request ran the route; the others replayed it"
    assert served.count(jobs) == 1
    assert served.count(artifacts) == 1


def test_of_concurrent_takers_of_a_stale_key_one_holds_it(
    served: ServedApi, alice: Caller, store: IdempotencyStore, clock: ManualClock
) -> None:
    """Store-level, many rounds, the claims released together: the takeover is a
    conditional UPDATE, so exactly one claim of each round holds the key."""
    takers = 8
    barrier = threading.Barrier(takers)

    def claim(key: str) -> object:
        barrier.wait(timeout=30)
        return store.claim(alice.owner_id, key, "fp")

    with ThreadPoolExecutor(takers) as pool:
        for round_ in range(20):
            key = f"stale {round_}"
            store.claim(alice.owner_id, key, "fp")
            clock.advance(store.lock_ms / 1000)
            claims = list(pool.map(claim, [key] * takers))
            held = [found for found in claims if isinstance(found, Held)]
            assert len(held) == 1, claims
            assert claims.count(InProgress()) == takers - 1


# -- maintenance -------------------------------------------------------------------


def test_purge_expired_deletes_only_expired_keys_nobody_holds(
    served: ServedApi, alice: Caller, clock: ManualClock
) -> None:
    system = served.system
    store = IdempotencyStore(
        system.engine, clock, system.database.backend, lifetime_seconds=10, wait_seconds=0
    )  # lives 10 s, held for 30 s (the margin)
    owner = alice.owner_id

    def saved(key: str) -> None:
        held = store.claim(owner, key, "fp")
        assert isinstance(held, Held)
        assert store.save(owner, key, held.token, 202, b"{}")

    saved("answered early")  # expires at 10 s
    store.claim(owner, "died early", "fp")  # expires at 10 s, lock runs out at 30 s
    clock.advance(20)
    store.claim(owner, "still held", "fp")  # expires at 30 s, lock runs out at 50 s
    clock.advance(15)
    saved("answered late")  # expires at 45 s
    clock.advance(5)  # 40 s
    assert store.purge_expired() == 2
    assert {row["key"] for row in served.rows(idempotency_keys)} == {
        "still held",
        "answered late",
    }
    clock.advance(10)  # 50 s
    assert store.purge_expired() == 2
    assert served.count(idempotency_keys) == 0


# -- the document ------------------------------------------------------------------


def test_openapi_documents_the_header_and_the_409(served: ServedApi) -> None:
    document = served.http.get("/openapi.json").json()
    for route in ROUTES:
        operation = document["paths"][route.path]["post"]
        (header,) = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
        assert header["in"] == "header"
        assert header["schema"]["maxLength"] == 255
        assert "IDEMPOTENCY_KEY_REUSED" in operation["responses"]["409"]["description"]
