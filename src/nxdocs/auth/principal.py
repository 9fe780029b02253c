"""Who a request acts as: the key's user, and the owners whose work it may see.

Work belongs to an owner: a user, or an organization (see `db.schema.owners`).
A personal key sees its user's work and that of every organization the user
belongs to, and works in the user's own space unless a request names an
organization (`org_id`). A key made for an organization sees and works in that
organization only, and stops working when its user leaves it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    user_id: str
    # The key's organization; None for a personal key.
    key_org_id: str | None
    # Every owner this key may read: used as `owner_id IN (...)` on gets.
    visible: frozenset[str]

    @classmethod
    def of_key(cls, user_id: str, key_org_id: str | None, org_ids: frozenset[str]) -> Principal:
        if key_org_id is not None:
            return cls(user_id, key_org_id, frozenset({key_org_id}))
        return cls(user_id, None, frozenset({user_id}) | org_ids)

    def workspace(self, org_id: str | None) -> str | None:
        """The owner a create writes as and a list reads: the named organization if
        this key may work in it, the key's default when none is named, else None."""
        if org_id is None:
            return self.key_org_id or self.user_id
        return org_id if org_id in self.visible else None
