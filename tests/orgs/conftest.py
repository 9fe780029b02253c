"""Organizations: owners that users belong to (see `nxdocs.auth.principal`)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from nxdocs.auth.organizations import Role
from tests.support.api import Caller, ServedApi


@dataclass
class Team:
    """An organization of alice (OWNER) and bob (MEMBER); carol is an outsider."""

    api: ServedApi
    org_id: str
    alice: Caller
    bob: Caller
    carol: Caller

    def org_key(self, member: Caller) -> Caller:
        """A key of `member`'s made for the organization."""
        created = self.api.system.keys.create("org key", member.owner_id, org_id=self.org_id)
        return Caller(self.api.http, member.owner_id, created.secret)


def join(api: ServedApi, org_id: str, member: Caller, role: Role = "MEMBER") -> None:
    assert api.system.organizations.add_member(org_id, member.owner_id, role)


def new_team(api: ServedApi) -> Team:
    alice, bob = api.caller("alice"), api.caller("bob")
    org = api.system.organizations.create("Acme Docs", alice.owner_id)
    join(api, org.id, bob)
    return Team(api, org.id, alice, bob, api.caller("carol"))


@pytest.fixture
def team(api: ServedApi) -> Team:
    return new_team(api)
