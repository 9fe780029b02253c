"""Organizations on every route that takes `org_id`, and what members and outsiders see."""

from __future__ import annotations

import pytest

from nxdocs.db.schema import artifacts
from nxdocs.ids import is_id
from tests.orgs.conftest import Team, new_team
from tests.support.api import Caller, MakeApi, ServedApi

DECK = {"type": "presentation", "content": "# Plan\n\n---\n\n## Goals\n\n- ship"}


def org_artifact(team: Team, caller: Caller) -> dict[str, object]:
    return caller.ready_artifact({**DECK, "org_id": team.org_id})


def test_organizations_lists_the_callers_with_role_and_quota(team: Team) -> None:
    listed = team.alice.ok("/v1/organizations")
    assert listed["object"] == "list"
    assert listed["has_more"] is False
    (org,) = listed["data"]
    assert org["id"] == team.org_id
    assert org["object"] == "organization"
    assert org["name"] == "Acme Docs"
    assert org["slug"] == "acme-docs"
    assert org["role"] == "OWNER"
    assert org["quota"]["document_export_used"] == 0
    assert [o["role"] for o in team.bob.ok("/v1/organizations")["data"]] == ["MEMBER"]
    assert team.carol.ok("/v1/organizations")["data"] == []


def test_organizations_page_newest_first(api: ServedApi, alice: Caller) -> None:
    made = [api.system.organizations.create(f"Org {n}", alice.owner_id).id for n in range(3)]
    first = alice.get("/v1/organizations", params={"limit": 2}).json()
    assert [o["id"] for o in first["data"]] == made[::-1][:2]
    assert first["has_more"]
    rest = alice.get("/v1/organizations", params={"limit": 2, "after": made[1]}).json()
    assert [o["id"] for o in rest["data"]] == [made[0]]
    assert not rest["has_more"]
    slugs = {o["slug"] for o in first["data"] + rest["data"]}
    assert slugs == {"org-0", "org-1", "org-2"}


def test_an_organization_artifact_is_seen_by_members_only(team: Team) -> None:
    artifact = org_artifact(team, team.alice)
    path = f"/v1/artifacts/{artifact['id']}"
    assert team.bob.ok(path)["id"] == artifact["id"]
    assert team.carol.get(path).status_code == 404
    in_org = team.bob.get("/v1/artifacts", params={"org_id": team.org_id}).json()
    assert [a["id"] for a in in_org["data"]] == [artifact["id"]]
    # The organization's work is not in anyone's own list.
    assert team.alice.ok("/v1/artifacts")["data"] == []
    assert team.bob.ok("/v1/artifacts")["data"] == []


def test_a_personal_artifact_stays_personal(team: Team) -> None:
    mine = team.alice.ready_artifact(DECK)
    assert team.bob.get(f"/v1/artifacts/{mine['id']}").status_code == 404
    listed = team.bob.get("/v1/artifacts", params={"org_id": team.org_id}).json()
    assert listed["data"] == []


@pytest.mark.parametrize("path", ["/v1/artifacts", "/v1/jobs", "/v1/brands"])
def test_an_outsiders_org_id_is_404_on_lists(team: Team, path: str) -> None:
    refused = team.carol.get(path, params={"org_id": team.org_id})
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "NOT_FOUND"
    unknown = team.alice.get(path, params={"org_id": "org_doesnotexist"})
    assert unknown.status_code == 404


def test_an_outsider_cannot_create_in_an_organization(team: Team) -> None:
    refused = team.carol.post("/v1/artifacts/async", json={**DECK, "org_id": team.org_id})
    assert refused.status_code == 404
    assert team.api.count(artifacts) == 0


def test_org_id_of_the_wrong_shape_is_a_validation_error(team: Team) -> None:
    for bad in ("user_abc", "org_\x00", "org_ÄÖ", "doc_abc"):
        listed = team.alice.get("/v1/artifacts", params={"org_id": bad})
        assert listed.status_code == 400, bad
        created = team.alice.post("/v1/artifacts/async", json={**DECK, "org_id": bad})
        assert created.status_code == 400, bad


def test_members_poll_and_list_the_organizations_jobs(team: Team) -> None:
    artifact = org_artifact(team, team.alice)
    job_path = f"/v1/jobs/{artifact['job_id']}"
    assert team.bob.ok(job_path)["status"] == "completed"
    assert team.carol.get(job_path).status_code == 404
    jobs = team.bob.get("/v1/jobs", params={"org_id": team.org_id}).json()["data"]
    assert [job["id"] for job in jobs] == [artifact["job_id"]]
    assert team.bob.ok("/v1/jobs")["data"] == []


def test_members_cancel_the_organizations_jobs(make_api: MakeApi) -> None:
    api = make_api(embedded_worker=False)  # the job stays queued
    team = new_team(api)
    queued = team.alice.create({**DECK, "org_id": team.org_id})
    cancel = f"/v1/jobs/{queued['job_id']}/cancel"
    assert team.carol.post(cancel).status_code == 404
    answered = team.bob.post(cancel)
    assert answered.status_code == 200, answered.text
    assert f"cancelled by owner {team.bob.owner_id}" in answered.json()["error"]["message"]
    assert team.alice.artifact(str(queued["id"]))["status"] == "failed"


def test_exports_of_an_organization_artifact_are_the_organizations(team: Team) -> None:
    artifact = org_artifact(team, team.alice)
    export = team.bob.export(str(artifact["id"]), "html")
    assert export["status"] == "completed"
    path = f"/v1/exports/{export['id']}"
    assert team.alice.ok(path)["id"] == export["id"]
    assert team.carol.get(path).status_code == 404
    refused = team.carol.post("/v1/exports", json={"artifact_id": artifact["id"], "format": "html"})
    assert refused.status_code == 404
    # Counted in the organization's quota, not the members' own.
    (org,) = team.alice.ok("/v1/organizations")["data"]
    assert org["quota"]["document_export_used"] == 1
    assert team.bob.ok("/v1/me")["quota"]["document_export_used"] == 0


def test_the_quota_counts_per_organization(make_api: MakeApi) -> None:
    team = new_team(make_api(monthly_export_limit=1))
    shared = org_artifact(team, team.alice)
    own = team.bob.ready_artifact(DECK)
    assert team.bob.export(str(shared["id"]), "html")["status"] == "completed"
    over = team.alice.post("/v1/exports", json={"artifact_id": shared["id"], "format": "html"})
    assert over.status_code == 429
    assert over.headers["Retry-After"]
    # The organization's month is used up; bob's own is not.
    assert team.bob.export(str(own["id"]), "html")["status"] == "completed"


def test_a_key_made_for_an_organization_works_in_it_only(team: Team) -> None:
    personal = team.bob.ready_artifact(DECK)
    org_key = team.org_key(team.bob)
    made = org_key.ready_artifact(DECK)  # no org_id: the key's organization
    assert team.alice.ok(f"/v1/artifacts/{made['id']}")["id"] == made["id"]
    assert [a["id"] for a in org_key.ok("/v1/artifacts")["data"]] == [made["id"]]
    assert org_key.get(f"/v1/artifacts/{personal['id']}").status_code == 404
    assert [o["id"] for o in org_key.ok("/v1/organizations")["data"]] == [team.org_id]
    other = team.api.system.organizations.create("Other", team.bob.owner_id).id
    assert org_key.get("/v1/artifacts", params={"org_id": other}).status_code == 404


def test_leaving_an_organization_ends_its_access_and_its_keys(team: Team) -> None:
    artifact = org_artifact(team, team.alice)
    org_key = team.org_key(team.bob)
    assert org_key.get("/v1/organizations").status_code == 200
    assert team.api.system.organizations.remove_member(team.org_id, team.bob.owner_id)
    assert team.bob.get(f"/v1/artifacts/{artifact['id']}").status_code == 404
    assert team.bob.get(f"/v1/jobs/{artifact['job_id']}").status_code == 404
    assert org_key.get("/v1/organizations").status_code == 401
    # The work stays the organization's.
    assert team.alice.ok(f"/v1/artifacts/{artifact['id']}")["id"] == artifact["id"]


def test_brands_of_an_organization(team: Team) -> None:
    brand = team.api.system.brands.create(team.org_id, "Acme", "Be brief.", None)
    listed = team.bob.get("/v1/brands", params={"org_id": team.org_id}).json()["data"]
    assert [b["id"] for b in listed] == [brand.id]
    assert team.bob.ok(f"/v1/brands/{brand.id}")["id"] == brand.id
    assert team.carol.get(f"/v1/brands/{brand.id}").status_code == 404
    created = team.bob.ready_artifact({**DECK, "org_id": team.org_id, "brand_id": brand.id})
    assert created["brand_id"] == brand.id
    refused = team.carol.post("/v1/artifacts/async", json={**DECK, "brand_id": brand.id})
    assert refused.status_code == 400


def test_roles_and_keys_are_checked_by_the_store(api: ServedApi, alice: Caller) -> None:
    org = api.system.organizations.create("Roles", alice.owner_id, slug="roles")
    assert is_id(org.id, "org")
    with pytest.raises(ValueError, match="taken"):
        api.system.organizations.create("Again", alice.owner_id, slug="roles")
    with pytest.raises(ValueError, match="slug"):
        api.system.organizations.create("Bad", alice.owner_id, slug="Not A Slug")
    with pytest.raises(LookupError):
        api.system.organizations.create("No one", "user_nobody")
    # An organization is not a user: it cannot found or join one.
    with pytest.raises(LookupError):
        api.system.organizations.create("Nested", org.id)
    assert not api.system.organizations.add_member(org.id, org.id, "MEMBER")
    outsider = api.caller("outsider")
    with pytest.raises(LookupError):
        api.system.keys.create("k", outsider.owner_id, org_id=org.id)
    assert api.system.organizations.add_member(org.id, outsider.owner_id, "ADMIN")
    roles = {o["id"]: o["role"] for o in outsider.ok("/v1/organizations")["data"]}
    assert roles == {org.id: "ADMIN"}


def test_an_idempotency_key_is_scoped_like_the_api_key(team: Team) -> None:
    key = {"Idempotency-Key": "same-key-both-ways"}
    personal = team.bob.post("/v1/artifacts/async", json=DECK, headers=key)
    assert personal.status_code == 202
    org_key = team.org_key(team.bob)
    in_org = org_key.post("/v1/artifacts/async", json=DECK, headers=key)
    assert in_org.status_code == 202, in_org.text
    assert "Idempotent-Replayed" not in in_org.headers
    assert in_org.json()["id"] != personal.json()["id"]
    assert team.alice.ok(f"/v1/artifacts/{in_org.json()['id']}")["id"] == in_org.json()["id"]
    replayed = team.bob.post("/v1/artifacts/async", json=DECK, headers=key)
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.json()["id"] == personal.json()["id"]


def test_an_organization_gets_no_key_of_its_own(team: Team) -> None:
    with pytest.raises(LookupError):
        team.api.system.keys.create("as the org", team.org_id)


def test_an_organization_artifact_takes_only_the_organizations_brands(team: Team) -> None:
    personal = team.api.system.brands.create(team.bob.owner_id, "Bob's", None, None)
    refused = team.bob.post(
        "/v1/artifacts/async", json={**DECK, "org_id": team.org_id, "brand_id": personal.id}
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["details"][0]["field"] == "brand_id"
