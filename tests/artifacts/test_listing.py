"""`GET /v1/artifacts`: newest first, pages of `limit` after a cursor, stable under inserts."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import httpx

from tests.support.api import Caller, ServedApi
from tests.support.contract import check_response, timestamp_ms
from tests.support.waiting import wait_until

ORIGINALS = 45
PAGE = 20


def newest_first(items: list[dict[str, Any]]) -> list[str]:
    """Ids by (created_at, id) descending: the list's documented order."""
    ordered = sorted(items, key=lambda a: (timestamp_ms(a["created_at"]), a["id"]), reverse=True)
    return [item["id"] for item in ordered]


class Creator:
    """Creates artifacts for one owner on its own client, until told to stop."""

    def __init__(self, api: ServedApi, owner: Caller) -> None:
        self.api = api
        self.owner = owner
        self.created: list[dict[str, Any]] = []
        self.stop = threading.Event()

    def wait_for_more(self, running: Future[None]) -> None:
        """Return once another artifact has been created (or the creator has stopped)."""
        before = len(self.created)
        wait_until(lambda: len(self.created) > before or running.done())

    def run(self) -> None:
        with httpx.Client(
            base_url=self.api.base_url, event_hooks={"response": [check_response]}, timeout=30
        ) as http:
            mine = Caller(http, self.owner.owner_id, self.owner.key)
            while not self.stop.is_set():
                n = len(self.created)
                self.created.append(mine.create({"content": f"# Newer {n}"}))


def test_walking_the_list_in_pages_while_artifacts_are_created_sees_each_once(
    api: ServedApi, alice: Caller
) -> None:
    originals = [alice.create({"content": f"# Deck {n}"}) for n in range(ORIGINALS)]
    expected = newest_first(originals)
    # Created one after the other, so their timestamps never go backwards (ties, within
    # one millisecond, are ordered by id).
    stamps = [timestamp_ms(item["created_at"]) for item in originals]
    assert stamps == sorted(stamps)
    creator = Creator(api, alice)
    pages: list[dict[str, Any]] = []

    with ThreadPoolExecutor(1) as pool:
        creating = pool.submit(creator.run)
        try:
            after: str | None = None
            while not pages or pages[-1]["has_more"]:
                # At least one more artifact is created before each page is read.
                creator.wait_for_more(creating)
                params: dict[str, Any] = {"limit": PAGE}
                if after is not None:
                    params["after"] = after
                response = alice.get("/v1/artifacts", params=params)
                assert response.status_code == 200, response.text
                pages.append(response.json())
                after = pages[-1]["data"][-1]["id"]
        finally:
            creator.stop.set()
        creating.result()

    walked = [item for page in pages for item in page["data"]]
    ids = [item["id"] for item in walked]
    assert len(ids) == len(set(ids)), "an artifact was listed twice"
    original_ids = set(expected)
    assert [i for i in ids if i in original_ids] == expected, "an original was skipped or moved"
    newer = {item["id"] for item in creator.created}
    assert set(ids) - original_ids <= newer
    # Anything created during the walk is newer than every original, so it can only
    # show up ahead of them, on the first page.
    first_original = ids.index(expected[0])
    assert set(ids[:first_original]) <= newer
    assert set(ids[first_original:]) <= original_ids
    assert len(creator.created) >= len(pages) >= 3
    for page in pages:
        assert page["object"] == "list"
        assert all(item["object"] == "artifact" for item in page["data"])
    assert all(page["has_more"] and len(page["data"]) == PAGE for page in pages[:-1])
    assert not pages[-1]["has_more"]
    assert 1 <= len(pages[-1]["data"]) <= PAGE
    stamps = [(timestamp_ms(item["created_at"]), item["id"]) for item in walked]
    assert stamps == sorted(stamps, reverse=True)


def test_default_page_is_twenty_newest(api: ServedApi, alice: Caller) -> None:
    made = [alice.create({"content": f"# Deck {n}"}) for n in range(22)]

    page = alice.get("/v1/artifacts").json()

    assert [item["id"] for item in page["data"]] == newest_first(made)[:PAGE]
    assert page["has_more"] is True
    rest = alice.get("/v1/artifacts", params={"after": page["data"][-1]["id"]}).json()
    assert [item["id"] for item in rest["data"]] == newest_first(made)[PAGE:]
    assert rest["has_more"] is False


BAD_PARAMETERS = [
    ({"limit": 0}, "limit"),
    ({"limit": 21}, "limit"),
    ({"limit": "x"}, "limit"),
    ({"after": "doc_abc123def456"}, "after"),
    ({"after": "x" * 65}, "after"),
]


def test_bad_list_parameters_are_400_naming_the_field(api: ServedApi, alice: Caller) -> None:
    alice.create({"content": "# One"})
    for params, field in BAD_PARAMETERS:
        response = alice.get("/v1/artifacts", params=params)

        assert response.status_code == 400, params
        error = response.json()["error"]
        assert error["code"] == "VALIDATION_ERROR", params
        assert [detail["field"] for detail in error["details"]] == [field], params


def test_another_owners_artifact_is_only_a_time(api: ServedApi, alice: Caller, bob: Caller) -> None:
    """Another owner's id pages on from the time it carries, like the id of a deleted
    artifact: the answer says nothing of whether it exists, and shows only the
    caller's own artifacts."""
    older = alice.create({"content": "# Older"})
    theirs = bob.create({"content": "# Bob's"})
    alice.create({"content": "# Newer"})

    page = alice.ok(f"/v1/artifacts?after={theirs['id']}")

    assert [item["id"] for item in page["data"]] == [older["id"]]
