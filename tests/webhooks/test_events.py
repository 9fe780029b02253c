"""Which events go where: the events an endpoint asked for, cancelled and failed jobs,
and an organization's jobs to the organization's endpoints."""

from __future__ import annotations

from tests.orgs.conftest import new_team
from tests.support.api import Caller, MakeApi, ServedApi
from tests.webhooks.receiver import Receiver
from tests.webhooks.support import (
    ENDPOINTS,
    cancelled_job,
    completed_job,
    create_endpoint,
    deliveries,
    delivery_of,
    start_job,
    verified,
    wait_delivery,
)


def test_an_endpoint_gets_only_the_events_it_asked_for_and_a_cancel_is_job_failed(
    make_api: MakeApi, receiver: Receiver
) -> None:
    api = make_api(embedded_worker=False)  # nothing runs until the worker starts below
    alice = api.caller("alice")
    failed_only = create_endpoint(alice, f"{receiver.url}/failed", ("job.failed",))
    completed_only = create_endpoint(alice, f"{receiver.url}/completed", ("job.completed",))
    both = create_endpoint(alice, f"{receiver.url}/both")
    cancelled = cancelled_job(alice)
    assert alice.job(cancelled)["error"]["code"] == "CANCELLED"
    completed = start_job(alice)

    with api.worker():
        assert alice.finished_job(completed)["status"] == "completed"
        for endpoint, job_id in (
            (failed_only, cancelled),
            (completed_only, completed),
            (both, cancelled),
            (both, completed),
        ):
            wait_delivery(alice, endpoint["id"], job_id, "delivered")

    # The rows are written with the job's end, so nothing else can come later.
    assert [d["job_id"] for d in deliveries(alice, failed_only["id"])["data"]] == [cancelled]
    assert [d["job_id"] for d in deliveries(alice, completed_only["id"])["data"]] == [completed]
    assert {d["job_id"] for d in deliveries(alice, both["id"])["data"]} == {cancelled, completed}
    by_path = {r.path: r for r in receiver.received() if r.path != "/hook/both"}
    assert set(by_path) == {"/hook/failed", "/hook/completed"}
    assert len(receiver.received()) == 4

    failed_event = verified(failed_only["secret"], by_path["/hook/failed"])
    assert failed_event["type"] == "job.failed"
    assert failed_event["data"] == alice.job(cancelled)
    assert failed_event["data"]["status"] == "failed"
    assert failed_event["data"]["error"]["code"] == "CANCELLED"
    completed_event = verified(completed_only["secret"], by_path["/hook/completed"])
    assert completed_event["type"] == "job.completed"
    assert completed_event["data"] == alice.job(completed)


def test_a_job_that_fails_in_the_worker_sends_job_failed(
    api: ServedApi, alice: Caller, receiver: Receiver
) -> None:
    created = create_endpoint(alice, receiver.url, ("job.failed",))
    artifact = alice.ready_artifact({"type": "presentation", "content": "# One"})
    export = alice.export_async(artifact["id"], "google-slides")
    job = alice.finished_job(export["job_id"])
    assert job["status"] == "failed"

    sent = wait_delivery(alice, created["id"], export["job_id"], "delivered")
    assert sent["event_type"] == "job.failed"
    (request,) = receiver.received()
    event = verified(created["secret"], request)
    assert event["type"] == "job.failed"
    assert event["data"] == alice.job(export["job_id"])
    assert event["data"]["type"] == "export.run"
    assert event["data"]["error"]["code"] == "GOOGLE_AUTH_REQUIRED"
    # The artifact's own job completed: not an event this endpoint wants.
    assert delivery_of(alice, created["id"], artifact["job_id"]) is None


def test_an_organizations_endpoint_gets_the_organizations_events(
    api: ServedApi, receiver: Receiver
) -> None:
    team = new_team(api)
    org_endpoint = create_endpoint(
        team.alice, f"{receiver.url}/org", ("job.completed",), org_id=team.org_id
    )
    personal = create_endpoint(team.alice, f"{receiver.url}/alice", ("job.completed",))
    org_key = team.org_key(team.bob)
    # An organization's key creates in the organization without naming it.
    keyed = create_endpoint(org_key, f"{receiver.url}/keyed", ("job.completed",))

    org_job = completed_job(team.bob, org_id=team.org_id)  # a member's job in the organization
    keyed_job = completed_job(org_key)
    own_job = completed_job(team.alice)
    for endpoint in (org_endpoint, keyed):
        for job_id in (org_job, keyed_job):
            wait_delivery(team.alice, endpoint["id"], job_id, "delivered")
    wait_delivery(team.alice, personal["id"], own_job, "delivered")

    def jobs_sent(caller: Caller, endpoint_id: str) -> set[str]:
        return {d["job_id"] for d in deliveries(caller, endpoint_id)["data"]}

    assert jobs_sent(team.alice, org_endpoint["id"]) == {org_job, keyed_job}
    assert jobs_sent(team.bob, keyed["id"]) == {org_job, keyed_job}
    assert jobs_sent(team.alice, personal["id"]) == {own_job}
    assert team.bob.get(f"{ENDPOINTS}/{personal['id']}").status_code == 404
    assert org_key.get(f"{ENDPOINTS}/{personal['id']}").status_code == 404

    org_requests = [r for r in receiver.received() if r.path == "/hook/org"]
    assert {verified(org_endpoint["secret"], r)["data"]["id"] for r in org_requests} == {
        org_job,
        keyed_job,
    }
    # Members see the organization's endpoints; an outsider sees none of them.
    listed = team.bob.get(ENDPOINTS, params={"org_id": team.org_id}).json()
    assert {e["id"] for e in listed["data"]} == {org_endpoint["id"], keyed["id"]}
    assert team.alice.ok(ENDPOINTS)["data"] == [
        {k: v for k, v in personal.items() if k != "secret"}
    ]
    assert team.carol.get(ENDPOINTS, params={"org_id": team.org_id}).status_code == 404
    assert team.carol.get(f"{ENDPOINTS}/{org_endpoint['id']}").status_code == 404
    outsider = team.carol.post(
        ENDPOINTS,
        json={"url": receiver.url, "events": ["job.completed"], "org_id": team.org_id},
    )
    assert outsider.status_code == 404
