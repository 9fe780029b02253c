"""`client.artifacts`: create (waits), create_async, get, list with auto-pagination, delete;
and the Idempotency-Key every create sends."""

from __future__ import annotations

import pytest

from nxdocs import Client
from nxdocs.sdk import NotFoundError
from tests.sdk.servers import DECK


def test_create_waits_until_the_artifact_is_ready(client: Client) -> None:
    artifact = client.artifacts.create(content=DECK, type="presentation", name="Launch")
    assert (artifact.status, artifact.page_count, artifact.name) == ("ready", 3, "Launch")
    assert artifact.id.startswith("doc_")


def test_create_follows_the_job_when_the_server_answers_202(idle_client: Client) -> None:
    """On a server whose sync wait runs out at once, create waits for the job itself:
    here it never finishes, so the wait times out with the job still processing."""
    with pytest.raises(TimeoutError):
        idle_client.artifacts.create(content=DECK, timeout=0.3)


def test_create_async_returns_at_once_and_get_shows_the_artifact(client: Client) -> None:
    started = client.artifacts.create_async("Quarterly review: revenue and hiring", page_count=3)
    assert started.status == "generating"
    assert started.job_id is not None
    client.jobs.wait(started.job_id, timeout=60)
    shown = client.artifacts.get(started.id)
    assert (shown.id, shown.status, shown.page_count) == (started.id, "ready", 3)
    assert shown.generation == {"generator": "outline", "model": "none"}


def test_list_pages_through_every_artifact(idle_client: Client) -> None:
    made = [idle_client.artifacts.create_async(content=DECK).id for _ in range(3)]
    assert [artifact.id for artifact in idle_client.artifacts.list(limit=1)] == made[::-1]
    assert [a.id for a in idle_client.artifacts.list(limit=2, after=made[2])] == made[1::-1]


def test_delete_removes_the_artifact(idle_client: Client) -> None:
    artifact = idle_client.artifacts.create_async(content=DECK)
    deleted = idle_client.artifacts.delete(artifact.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (artifact.id, "artifact", True)
    with pytest.raises(NotFoundError):
        idle_client.artifacts.get(artifact.id)


def test_a_create_repeated_with_its_idempotency_key_makes_one_artifact(
    idle_client: Client,
) -> None:
    first = idle_client.artifacts.create_async(content=DECK, idempotency_key="sdk-key-1")
    again = idle_client.artifacts.create_async(content=DECK, idempotency_key="sdk-key-1")
    other = idle_client.artifacts.create_async(content=DECK)
    assert again.id == first.id
    assert other.id != first.id
    assert len(list(idle_client.artifacts.list())) == 2


def test_variations_are_typed(client: Client) -> None:
    artifact = client.artifacts.create(content=DECK, variations=2)
    assert [(v.variation, v.status) for v in artifact.variations] == [(2, "ready")]
    assert client.artifacts.get(artifact.variations[0].id).variation_of == artifact.id
