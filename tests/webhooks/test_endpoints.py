"""Webhook endpoints as objects: create, get, list, update, delete, and what is refused."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest

from nxdocs.api.objects import (
    WebhookEndpointList,
    WebhookEndpointObject,
    WebhookEndpointWithSecret,
)
from nxdocs.db.schema import webhook_attempts, webhook_deliveries, webhook_endpoints
from tests.support.api import Caller, MakeApi, ServedApi
from tests.support.contract import TIMESTAMP, timestamp_ms, validate_error
from tests.webhooks.receiver import Receiver
from tests.webhooks.support import (
    ENDPOINTS,
    completed_job,
    create_endpoint,
    endpoint,
    patch,
    wait_delivery,
)

URL = "http://127.0.0.1:9/hook"


def test_create_answers_the_endpoint_with_its_secret_and_get_never_shows_it(
    alice: Caller,
) -> None:
    created = create_endpoint(
        alice, URL, ("job.failed", "job.completed", "job.failed"), description="prod"
    )
    WebhookEndpointWithSecret.model_validate(created)
    assert created["id"].startswith("we_")
    assert created["object"] == "webhook_endpoint"
    assert created["url"] == URL
    assert created["description"] == "prod"
    assert created["events"] == ["job.completed", "job.failed"]  # in order, no repeats
    assert created["status"] == "enabled"
    assert created["disabled_reason"] is None
    assert TIMESTAMP.match(created["created_at"])
    assert created["updated_at"] == created["created_at"]
    secret = created["secret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32

    shown = alice.get(f"{ENDPOINTS}/{created['id']}")
    assert shown.status_code == 200
    assert shown.json() == {k: v for k, v in created.items() if k != "secret"}
    listed = alice.get(ENDPOINTS)
    assert listed.json()["data"] == [shown.json()]
    for response in (shown, listed):
        assert secret not in response.text
        assert secret.removeprefix("whsec_") not in response.text
    WebhookEndpointObject.model_validate(shown.json())


def test_endpoints_list_newest_first_in_pages(alice: Caller, bob: Caller) -> None:
    made = [create_endpoint(alice, f"{URL}/{n}")["id"] for n in range(3)]
    create_endpoint(bob, URL)  # someone else's: never listed
    first = alice.ok(f"{ENDPOINTS}?limit=2")
    WebhookEndpointList.model_validate(first)
    assert [e["id"] for e in first["data"]] == made[::-1][:2]
    assert first["has_more"] is True
    rest = alice.get(ENDPOINTS, params={"limit": 2, "after": made[1]}).json()
    assert [e["id"] for e in rest["data"]] == [made[0]]
    assert rest["has_more"] is False


def test_update_changes_only_the_fields_given(alice: Caller) -> None:
    created = create_endpoint(alice, URL, ("job.completed",), description="old")
    path = f"{ENDPOINTS}/{created['id']}"

    changed = patch(alice, path, {"events": ["job.failed"]})
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["events"] == ["job.failed"]
    assert (body["url"], body["description"], body["status"]) == (URL, "old", "enabled")
    assert "secret" not in body
    assert timestamp_ms(body["updated_at"]) >= timestamp_ms(created["updated_at"])

    moved = patch(alice, path, {"url": f"{URL}/new", "description": None}).json()
    assert moved["url"] == f"{URL}/new"
    assert moved["description"] is None
    assert moved["events"] == ["job.failed"]
    assert endpoint(alice, created["id"]) == moved

    off = patch(alice, path, {"status": "disabled"}).json()
    assert off["status"] == "disabled"
    assert off["disabled_reason"]
    on = patch(alice, path, {"status": "enabled"}).json()
    assert (on["status"], on["disabled_reason"]) == ("enabled", None)


def test_delete_removes_the_endpoint_with_its_deliveries(
    api: ServedApi, alice: Caller, receiver: Receiver
) -> None:
    created = create_endpoint(alice, receiver.url)
    kept = create_endpoint(alice, receiver.url.replace("/hook", "/kept"))
    job_id = completed_job(alice)
    wait_delivery(alice, created["id"], job_id, "delivered")
    wait_delivery(alice, kept["id"], job_id, "delivered")
    assert api.count(webhook_attempts) == 2

    deleted = alice.delete(f"{ENDPOINTS}/{created['id']}")
    assert deleted.status_code == 200
    assert deleted.json() == {"id": created["id"], "object": "webhook_endpoint", "deleted": True}
    assert alice.get(f"{ENDPOINTS}/{created['id']}").status_code == 404
    assert alice.delete(f"{ENDPOINTS}/{created['id']}").status_code == 404
    assert [row["id"] for row in api.rows(webhook_endpoints)] == [kept["id"]]
    assert {row["endpoint_id"] for row in api.rows(webhook_deliveries)} == {kept["id"]}
    assert {row["endpoint_id"] for row in api.rows(webhook_attempts)} == {kept["id"]}


def test_an_owner_has_a_limited_number_of_endpoints(make_api: MakeApi) -> None:
    api = make_api(embedded_worker=False, webhook_max_endpoints=2)
    alice, bob = api.caller("alice"), api.caller("bob")
    create_endpoint(alice, URL)
    create_endpoint(alice, URL)
    refused = alice.post(ENDPOINTS, json={"url": URL, "events": ["job.failed"]})
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "RATE_LIMITED"
    create_endpoint(bob, URL)  # per owner
    assert api.count(webhook_endpoints) == 3


# -- refused input (no database work worth repeating: SQLite only) -------------------------

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

UNKNOWN_EVENTS: list[Any] = [
    ["job.created"],
    ["job.completed", "artifact.ready"],
    ["JOB.COMPLETED"],
    [],
    "job.completed",
    [None],
    None,
]
PRIVATE = [
    "http://10.0.0.1/hook",
    "http://192.168.1.1/hook",
    "http://172.16.0.1/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/hook",
    "http://0.0.0.0:8080/hook",
    "http://[fd00::1]/hook",
    "http://[fe80::1]/hook",
    "http://[::ffff:10.0.0.1]/hook",
    "https://[::ffff:169.254.169.254]/hook",
]
LOOPBACK_URLS = [
    "http://127.0.0.1/hook",
    "http://127.1.2.3:8080/hook",
    "http://[::1]/hook",
    "http://[::1]:8443/hook",
    "http://localhost/hook",
    "http://2130706433/hook",  # 127.0.0.1 as one number
]
MALFORMED: list[Any] = [
    "http://user:pass@127.0.0.1/hook",
    "http://user@127.0.0.1/hook",
    "ftp://127.0.0.1/hook",
    "file:///etc/passwd",
    "javascript:alert(1)",
    "gopher://127.0.0.1:70/",
    "not a url",
    "http://",
    "http:///hook",
    "//127.0.0.1/hook",
    "/hook",
    "http://127.0.0.1/hook#fragment",
    "http://127.0.0.1:99999/hook",  # would wrap around to port 34463
    "http://127.0.0.1:65536/hook",
    "http://127.0.0.1:0/hook",
    "http://exa mple.com/",
    "http://127.0.0.1/" + "a" * 2048,
    "",
    123,
    None,
]


def refused(caller: Caller, body: dict[str, Any], field: str) -> dict[str, Any]:
    """POST the body: a 400 VALIDATION_ERROR in the contract's error shape, naming `field`."""
    response = caller.post(ENDPOINTS, json=body)
    assert response.status_code == 400, (body, response.text)
    error = response.json()
    validate_error(error)
    assert error["error"]["code"] == "VALIDATION_ERROR"
    fields = [detail["field"] for detail in error["error"]["details"]]
    assert any(re.split(r"[.\[]", name)[0] == field for name in fields), (body, error)
    return error


@sqlite_only
def test_unknown_or_missing_events_are_refused(api: ServedApi, alice: Caller) -> None:
    for events in UNKNOWN_EVENTS:
        refused(alice, {"url": URL, "events": events}, "events")
    refused(alice, {"url": URL}, "events")
    assert api.count(webhook_endpoints) == 0


@sqlite_only
def test_private_addresses_are_refused_although_loopback_is_allowed(
    api: ServedApi, alice: Caller
) -> None:
    for url in PRIVATE:
        error = refused(alice, {"url": url, "events": ["job.completed"]}, "url")
        assert "not allowed" in error["error"]["details"][0]["message"], (url, error)
    assert api.count(webhook_endpoints) == 0


@sqlite_only
def test_loopback_is_refused_without_the_allow_list(make_api: MakeApi) -> None:
    api = make_api(embedded_worker=False, webhook_allowed_networks="")
    alice = api.caller("alice")
    for url in LOOPBACK_URLS:
        refused(alice, {"url": url, "events": ["job.completed"]}, "url")
    assert api.count(webhook_endpoints) == 0


@sqlite_only
def test_loopback_is_accepted_with_the_allow_list(alice: Caller) -> None:
    for url in ("http://127.0.0.1:9/hook", "http://[::1]:9/hook", "https://127.0.0.1/x?y=1"):
        assert create_endpoint(alice, url)["url"] == url


@sqlite_only
def test_malformed_urls_are_refused(api: ServedApi, alice: Caller) -> None:
    for url in MALFORMED:
        refused(alice, {"url": url, "events": ["job.completed"]}, "url")
    refused(alice, {"events": ["job.completed"]}, "url")
    assert api.count(webhook_endpoints) == 0


@sqlite_only
def test_an_update_to_a_refused_url_changes_nothing(alice: Caller) -> None:
    created = create_endpoint(alice, URL)
    path = f"{ENDPOINTS}/{created['id']}"
    for url in (*PRIVATE[:3], *MALFORMED[:3], "http://127.0.0.1:65536/"):
        response = patch(alice, path, {"url": url})
        assert response.status_code == 400, (url, response.text)
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    for body in ({"events": ["job.done"]}, {"events": []}, {"status": "paused"}):
        assert patch(alice, path, body).status_code == 400, body
    assert endpoint(alice, created["id"]) == {k: v for k, v in created.items() if k != "secret"}
