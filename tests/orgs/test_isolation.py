"""Isolation, property-based: whatever owners, organizations, memberships and keys
exist, no list or get shows a resource outside what the caller's key may see.

Each example builds a new world on one served API (fresh users and
organizations, so examples never see each other's) with the worker off: jobs
stay queued, which visibility does not depend on. The model of who sees what
is written out here, apart from `Principal`, and every route is asked.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.assets.samples import image_bytes, uploaded
from tests.support.api import Caller, MakeApi, ServedApi

EXAMPLES = settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
DECK = {"type": "document", "content": "# Note\n\nText."}
IMAGE = image_bytes("PNG", (4, 4))


@dataclass(frozen=True)
class Plan:
    users: int
    # Per organization: its members, by user index (the first one founds it).
    orgs: list[list[int]]
    # Per artifact, and per asset: the creating user and the organization it is
    # made in (or None).
    artifacts: list[tuple[int, int | None]]
    assets: list[tuple[int, int | None]]
    # Keys made for an organization: (user, organization), a member's.
    org_keys: list[tuple[int, int]]


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    users = draw(st.integers(2, 4))
    user = st.integers(0, users - 1)
    orgs = draw(
        st.lists(st.lists(user, min_size=1, max_size=users, unique=True), min_size=0, max_size=3)
    )

    def made(least: int, most: int) -> list[tuple[int, int | None]]:
        made: list[tuple[int, int | None]] = []
        for _ in range(draw(st.integers(least, most))):
            if orgs and draw(st.booleans()):
                org = draw(st.integers(0, len(orgs) - 1))
                made.append((draw(st.sampled_from(orgs[org])), org))
            else:
                made.append((draw(user), None))
        return made

    memberships = [(member, org) for org, members in enumerate(orgs) for member in members]
    org_keys = draw(st.lists(st.sampled_from(memberships), max_size=2)) if memberships else []
    return Plan(users, orgs, made(1, 6), made(0, 3), org_keys)


@dataclass
class World:
    api: ServedApi
    users: list[Caller]
    org_ids: list[str]
    # Owner id of each resource, by id.
    artifact_owner: dict[str, str] = field(default_factory=dict)
    job_owner: dict[str, str] = field(default_factory=dict)
    brand_owner: dict[str, str] = field(default_factory=dict)
    asset_owner: dict[str, str] = field(default_factory=dict)
    # Each key: (caller, what it may read, its default workspace).
    keys: list[tuple[Caller, frozenset[str], str]] = field(default_factory=list)

    def owned_by(self, owners: dict[str, str], owner: str) -> set[str]:
        return {rid for rid, found in owners.items() if found == owner}


def build(api: ServedApi, plan: Plan) -> World:
    users = [api.caller(f"user{n}") for n in range(plan.users)]
    world = World(api, users, [])
    orgs = api.system.organizations
    member_of: dict[int, set[str]] = {n: set() for n in range(plan.users)}
    for members in plan.orgs:
        org_id = orgs.create("Org", users[members[0]].owner_id).id
        for member in members[1:]:
            assert orgs.add_member(org_id, users[member].owner_id, "MEMBER")
        for member in members:
            member_of[member].add(org_id)
        world.org_ids.append(org_id)
    for owner in [u.owner_id for u in users] + world.org_ids:
        world.brand_owner[api.system.brands.create(owner, "Brand", None, None).id] = owner
    for creator, org in plan.artifacts:
        body = dict(DECK) if org is None else {**DECK, "org_id": world.org_ids[org]}
        made = users[creator].create(body)
        owner = users[creator].owner_id if org is None else world.org_ids[org]
        world.artifact_owner[made["id"]] = owner
        world.job_owner[made["job_id"]] = owner
    for creator, org in plan.assets:
        scoped = {} if org is None else {"org_id": world.org_ids[org]}
        asset = uploaded(users[creator], IMAGE, **scoped)
        world.asset_owner[asset["id"]] = (
            users[creator].owner_id if org is None else world.org_ids[org]
        )
    for n, user in enumerate(users):
        world.keys.append((user, frozenset({user.owner_id} | member_of[n]), user.owner_id))
    for member, org in plan.org_keys:
        org_id = world.org_ids[org]
        secret = api.system.keys.create("org", users[member].owner_id, org_id=org_id).secret
        world.keys.append((Caller(api.http, users[member].owner_id, secret), {org_id}, org_id))
    return world


def listed(caller: Caller, path: str, **params: str) -> set[str] | None:
    """Every id of the list (all pages), or None for a 404."""
    ids: set[str] = set()
    after: str | None = None
    while True:
        query = {**params, **({"after": after} if after else {})}
        response = caller.get(path, params=query)
        if response.status_code == 404:
            return None
        assert response.status_code == 200, response.text
        page = response.json()
        ids |= {item["id"] for item in page["data"]}
        if not page["has_more"]:
            return ids
        after = page["data"][-1]["id"]


def check(world: World) -> None:
    for caller, visible, default in world.keys:
        for artifact_id, owner in world.artifact_owner.items():
            status = caller.get(f"/v1/artifacts/{artifact_id}").status_code
            assert status == (200 if owner in visible else 404)
        for job_id, owner in world.job_owner.items():
            status = caller.get(f"/v1/jobs/{job_id}").status_code
            assert status == (200 if owner in visible else 404)
        gets = (
            ("/v1/brands", world.brand_owner),
            ("/v1/assets", world.asset_owner),
        )
        for path, owners in gets:
            for resource_id, owner in owners.items():
                status = caller.get(f"{path}/{resource_id}").status_code
                assert status == (200 if owner in visible else 404)
        lists = (
            ("/v1/artifacts", world.artifact_owner),
            ("/v1/jobs", world.job_owner),
            ("/v1/brands", world.brand_owner),
            ("/v1/assets", world.asset_owner),
        )
        for path, owners in lists:
            assert listed(caller, path) == world.owned_by(owners, default)
            for org_id in world.org_ids:
                shown = listed(caller, path, org_id=org_id)
                assert shown == (world.owned_by(owners, org_id) if org_id in visible else None)
        organizations = listed(caller, "/v1/organizations")
        assert organizations == {org for org in visible if org.startswith("org_")}


def test_no_caller_ever_sees_outside_its_owners(make_api: MakeApi) -> None:
    # One server for all examples (each builds its world in new owners).
    api = make_api(embedded_worker=False)

    @EXAMPLES
    @given(plan=plans())
    def holds(plan: Plan) -> None:
        check(build(api, plan))

    holds()
