"""Signed download links and the export file purge, on both databases.

Time is a `ManualClock` shared by the API (which signs and checks links) and
its embedded worker (which runs the periodic purge), so a link expires, and a
file outlives its retention, when the test says so rather than after a wait.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest

from nxdocs.clock import format_timestamp
from nxdocs.db.schema import exports
from tests.support.api import Caller, MakeApi, ServedApi
from tests.support.clock import ManualClock
from tests.support.contract import timestamp_ms
from tests.support.export_samples import PRESENTATION
from tests.support.exports import DAY_SECONDS, assert_hosted_export
from tests.support.file_readers import pdf_pages
from tests.support.waiting import wait_until

FORBIDDEN = {"error": {"code": "FORBIDDEN", "message": "The link's signature is invalid."}}


def with_query(url: str, **changes: str) -> str:
    """`url` with some of its query parameters replaced."""
    parts = urlsplit(url)
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    return urlunsplit(parts._replace(query=urlencode(query | changes)))


def flip(text: str) -> str:
    """`text` with its last character changed (a hex digit stays a hex digit)."""
    return text[:-1] + ("0" if text[-1] != "0" else "1")


def assert_gone(response: httpx.Response) -> None:
    assert response.status_code == 410, response.text
    assert response.json()["error"]["code"] == "LINK_EXPIRED"


@pytest.fixture
def timed(make_api: MakeApi, clock: ManualClock) -> ServedApi:
    """A server on the manual clock whose files are kept a day, purged every minute."""
    return make_api(clock=clock, export_retention_seconds=DAY_SECONDS, purge_interval_seconds=60)


@pytest.fixture
def carol(timed: ServedApi) -> Caller:
    return timed.caller("carol")


def test_a_tampered_link_is_403_and_shows_nothing(
    api: ServedApi, alice: Caller, anonymous: httpx.Client
) -> None:
    artifact = alice.ready_artifact(PRESENTATION)
    export = alice.export(artifact["id"], "pdf")
    other = alice.export(artifact["id"], "html")
    url = export["download_url"]
    query = parse_qs(urlsplit(url).query)
    signature, expires = query["signature"][0], query["expires"][0]
    others = parse_qs(urlsplit(other["download_url"]).query)["signature"][0]

    tampered = [
        with_query(url, signature=flip(signature)),
        with_query(url, signature=signature.upper()),
        with_query(url, signature=""),
        with_query(url, expires=str(int(expires) + 1)),  # a longer life than was signed
        with_query(url, expires="x"),
        # Another export's signature does not open this one.
        with_query(url, signature=others),
        url.replace(export["id"], other["id"]),
        url.split("?")[0],
    ]
    for link in tampered:
        response = anonymous.get(link)
        assert (response.status_code, response.json()) == (403, FORBIDDEN), link
        assert response.content.find(b"%PDF") == -1
    # The API key is not what opens a link: the owner's key does not repair a bad one.
    response = alice.http.get(tampered[0], headers=alice.auth)
    assert response.status_code == 403
    assert anonymous.get(url).status_code == 200


def test_a_link_lives_seven_days_then_a_fresh_one_is_issued(
    make_api: MakeApi, anonymous: httpx.Client, clock: ManualClock
) -> None:
    api = make_api(clock=clock)  # default lifetimes: links 7 days, files 30 days
    carol = api.caller("carol")
    export = carol.export(carol.ready_artifact(PRESENTATION)["id"], "pdf")
    assert_hosted_export(export, "completed", base_url=api.base_url)
    assert timestamp_ms(export["expires_at"]) == clock.now_ms() + 7 * DAY_SECONDS * 1000
    first = export["download_url"]
    data = anonymous.get(first).content
    assert len(pdf_pages(data)) == 10

    clock.advance(7 * DAY_SECONDS - 1)
    assert anonymous.get(first).status_code == 200  # the last second of its life
    clock.advance(2)
    assert_gone(anonymous.get(first))

    again = carol.ok(f"/v1/exports/{export['id']}")
    assert again["download_url"] != first
    assert again["expires_at"] == format_timestamp(clock.now_ms() + 7 * DAY_SECONDS * 1000)
    assert anonymous.get(again["download_url"]).content == data
    assert [path.name for path in api.export_files(export["id"])] == [export["file_name"]]


def test_a_link_never_outlives_the_file(
    timed: ServedApi, carol: Caller, anonymous: httpx.Client, clock: ManualClock
) -> None:
    export = carol.export(carol.ready_artifact(PRESENTATION)["id"], "html")
    completed = timestamp_ms(export["updated_at"])

    # Files are kept a day here: links end with the file, not seven days on.
    assert timestamp_ms(export["expires_at"]) == completed + DAY_SECONDS * 1000
    clock.advance(DAY_SECONDS / 2)
    again = carol.ok(f"/v1/exports/{export['id']}")
    assert timestamp_ms(again["expires_at"]) == completed + DAY_SECONDS * 1000
    assert anonymous.get(again["download_url"]).text == export["content"]


def test_a_one_second_link_outlives_a_request_but_not_two_seconds(
    make_api: MakeApi, anonymous: httpx.Client
) -> None:
    clock = ManualClock()
    api = make_api(clock=clock, download_url_seconds=1)
    dave = api.caller("dave")
    export = dave.export(dave.ready_artifact(PRESENTATION)["id"], "html")
    assert timestamp_ms(export["expires_at"]) == clock.now_ms() + 1000
    assert anonymous.get(export["download_url"]).text == export["content"]

    clock.advance(2)
    assert_gone(anonymous.get(export["download_url"]))

    fresh = dave.ok(f"/v1/exports/{export['id']}")
    assert timestamp_ms(fresh["expires_at"]) == clock.now_ms() + 1000
    assert anonymous.get(fresh["download_url"]).text == export["content"]
    assert [path.name for path in api.export_files(export["id"])] == [export["file_name"]]


def test_the_worker_purges_files_past_their_retention(
    timed: ServedApi, carol: Caller, anonymous: httpx.Client, clock: ManualClock
) -> None:
    artifact = carol.ready_artifact(PRESENTATION)
    old = carol.export(artifact["id"], "pdf")
    old_html = carol.export(artifact["id"], "html")
    (old_file,) = timed.export_files(old["id"])
    old_folder = timed.files / "exports" / old["id"]
    assert old_file.parent.parent == old_folder  # exports/<id>/<attempt>/<file>
    clock.advance(DAY_SECONDS / 2)
    young = carol.export(artifact["id"], "pdf")
    (young_file,) = timed.export_files(young["id"])

    clock.advance(DAY_SECONDS / 2 + 61)  # past the old ones' retention and a purge interval

    # The embedded worker's periodic task deletes the files, directory and all.
    wait_until(lambda: not old_folder.exists(), timeout=30)
    wait_until(lambda: timed.export_files(old_html["id"]) == [], timeout=30)
    assert young_file.exists()
    for purged in (old, old_html):
        shown: dict[str, Any] = carol.ok(f"/v1/exports/{purged['id']}")
        assert shown["status"] == "completed"  # the row stays; only the file is gone
        assert (shown["download_url"], shown["expires_at"], shown["content"]) == (None, None, None)
        assert_gone(anonymous.get(purged["download_url"]))
    assert timed.count(exports) == 3
    assert anonymous.get(carol.ok(f"/v1/exports/{young['id']}")["download_url"]).status_code == 200

    # Even a link signed to live on finds no file: 410 in the error shape, not 404 or 500.
    signer = timed.system.link_signer()
    link = signer.link(old["id"], old["file_name"], clock.now_ms() + 60_000)
    response = anonymous.get(
        link.url.replace("http://127.0.0.1:" + str(timed.system.settings.port), timed.base_url)
    )
    assert_gone(response)
    assert "no longer kept" in response.json()["error"]["message"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # link signing only
def test_a_link_handed_out_is_never_dead_on_arrival(
    make_api: MakeApi, anonymous: httpx.Client, clock: ManualClock
) -> None:
    # No embedded worker, so no purge runs: the file stays past its retention.
    api = make_api(clock=clock, embedded_worker=False, export_retention_seconds=DAY_SECONDS)
    erin = api.caller("erin")
    with api.worker():
        export = erin.export(erin.ready_artifact(PRESENTATION)["id"], "html")
    clock.advance(DAY_SECONDS + 1)
    assert api.export_files(export["id"]) != []

    shown = erin.ok(f"/v1/exports/{export['id']}")

    if shown["download_url"] is not None:
        assert timestamp_ms(shown["expires_at"]) > clock.now_ms(), shown["expires_at"]
        assert anonymous.get(shown["download_url"]).status_code == 200
