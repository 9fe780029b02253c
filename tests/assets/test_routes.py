"""`GET /v1/assets` (filters, pages), `GET`, `PATCH` and `DELETE /v1/assets/{id}`.

Every test runs on SQLite and on PostgreSQL, against the served API.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from nxdocs.db.schema import assets
from tests.support.api import Caller, ServedApi
from tests.support.contract import NOT_FOUND, timestamp_ms

from .samples import assert_invalid, patch, uploaded


def ids(page: dict[str, Any]) -> list[str]:
    return [item["id"] for item in page["data"]]


def newest_first(items: list[dict[str, Any]]) -> list[str]:
    ordered = sorted(items, key=lambda a: (timestamp_ms(a["created_at"]), a["id"]), reverse=True)
    return [item["id"] for item in ordered]


def test_the_list_filters_by_type_brand_and_unassigned(alice: Caller, api: ServedApi) -> None:
    acme = api.system.brands.create(alice.owner_id, "Acme", None, None)
    other = api.system.brands.create(alice.owner_id, "Other", None, None)
    icon = uploaded(alice, type="icon", brand_id=acme.id)
    photo = uploaded(alice, type="photo")
    drawing = uploaded(alice, type="illustration", brand_id=other.id)
    every = [icon, photo, drawing]

    page = alice.ok("/v1/assets")
    assert (page["object"], page["has_more"]) == ("list", False)
    assert ids(page) == newest_first(every)
    assert ids(alice.ok("/v1/assets?type=icon")) == [icon["id"]]
    assert ids(alice.ok("/v1/assets?type=video")) == []
    assert ids(alice.ok(f"/v1/assets?brand_id={acme.id}")) == [icon["id"]]
    assert ids(alice.ok("/v1/assets?brand_id=brand_nosuchbrand")) == []
    assert ids(alice.ok("/v1/assets?unassigned=true")) == [photo["id"]]
    assert ids(alice.ok("/v1/assets?unassigned=false")) == newest_first([icon, drawing])
    assert ids(alice.ok(f"/v1/assets?type=icon&brand_id={other.id}")) == []
    assert ids(alice.ok(f"/v1/assets?brand_id={acme.id}&unassigned=true")) == []


def test_the_list_pages_with_limit_and_after(alice: Caller) -> None:
    made = [uploaded(alice, type="icon" if n % 2 else "photo") for n in range(5)]
    order = newest_first(made)

    first = alice.ok("/v1/assets?limit=2")
    assert (ids(first), first["has_more"]) == (order[:2], True)
    second = alice.ok(f"/v1/assets?limit=2&after={order[1]}")
    assert (ids(second), second["has_more"]) == (order[2:4], True)
    last = alice.ok(f"/v1/assets?limit=2&after={order[3]}")
    assert (ids(last), last["has_more"]) == (order[4:], False)
    # With a filter, the cursor pages on among the matches.
    icons = [item["id"] for item in made if item["type"] == "icon"]
    icon_order = [asset_id for asset_id in order if asset_id in icons]
    assert ids(alice.ok(f"/v1/assets?type=icon&after={icon_order[0]}")) == icon_order[1:]
    # A cursor deleted meanwhile still pages on, from the time its id carries.
    assert alice.delete(f"/v1/assets/{order[1]}").status_code == 200
    assert ids(alice.ok(f"/v1/assets?limit=2&after={order[1]}")) == order[2:4]


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=21",
        "limit=x",
        "type=banner",
        "brand_id=doc_abc",
        "brand_id=brand_a%00b",
        "unassigned=maybe",
        "after=asset_a%00b",
        "after=%ED%B3%BF",
        "org_id=org_a%00b",
    ],
)
def test_invalid_list_parameters_are_400(alice: Caller, query: str) -> None:
    response = alice.get(f"/v1/assets?{query}")

    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_a_page_of_twenty_by_default(alice: Caller, api: ServedApi) -> None:
    for _ in range(21):
        uploaded(alice)

    page = alice.ok("/v1/assets")
    assert (len(page["data"]), page["has_more"]) == (20, True)
    assert len(alice.ok("/v1/assets?limit=20")["data"]) == 20


def test_an_unknown_cursor_without_a_time_is_400(alice: Caller) -> None:
    assert_invalid(alice.get("/v1/assets?after=asset_abc"), "after")


def test_org_lists_need_membership(alice: Caller, bob: Caller, api: ServedApi) -> None:
    org = api.system.organizations.create("Acme", alice.owner_id)
    in_org = uploaded(alice, org_id=org.id)
    uploaded(alice)

    assert ids(alice.ok(f"/v1/assets?org_id={org.id}")) == [in_org["id"]]
    for query in (f"org_id={org.id}", "org_id=org_nosuchorg"):
        response = bob.get(f"/v1/assets?{query}")
        assert response.status_code == 404, response.text
        assert response.json() == NOT_FOUND


def test_get_shows_the_asset_with_a_fresh_link(alice: Caller) -> None:
    asset = uploaded(alice, type="illustration", name="Map")

    shown = alice.ok(f"/v1/assets/{asset['id']}")
    assert {**shown, "url": None} == {**asset, "url": None}
    assert shown["url"].split("?")[0] == asset["url"].split("?")[0]


def test_patch_links_and_unlinks_a_brand(alice: Caller, bob: Caller, api: ServedApi) -> None:
    acme = api.system.brands.create(alice.owner_id, "Acme", None, None)
    bobs = api.system.brands.create(bob.owner_id, "Bob's", None, None)
    asset = uploaded(alice)

    linked = patch(alice, asset["id"], {"brand_id": acme.id})
    assert linked.status_code == 200, linked.text
    assert linked.json()["brand_id"] == acme.id
    assert timestamp_ms(linked.json()["updated_at"]) >= timestamp_ms(asset["updated_at"])
    assert alice.ok(f"/v1/assets/{asset['id']}")["brand_id"] == acme.id
    assert ids(alice.ok("/v1/assets?unassigned=true")) == []

    unlinked = patch(alice, asset["id"], {"brand_id": None})
    assert unlinked.status_code == 200, unlinked.text
    assert unlinked.json()["brand_id"] is None

    assert_invalid(patch(alice, asset["id"], {"brand_id": bobs.id}), "brand_id")
    assert_invalid(patch(alice, asset["id"], {"brand_id": "brand_nosuchbrand"}), "brand_id")
    assert_invalid(patch(alice, asset["id"], {"brand_id": "doc_abc"}), "brand_id")
    assert_invalid(patch(alice, asset["id"], {}), "brand_id")
    assert_invalid(patch(alice, asset["id"], {"brand_id": None, "name": "x"}), "name")
    assert_invalid(patch(alice, asset["id"], {"brand_id": 12}), "brand_id")
    not_json = alice.http.patch(
        f"/v1/assets/{asset['id']}",
        headers={**alice.auth, "content-type": "text/plain"},
        content=b"x",
    )
    assert not_json.status_code == 415, not_json.text


def test_an_org_asset_takes_the_orgs_brands(alice: Caller, api: ServedApi) -> None:
    org = api.system.organizations.create("Acme", alice.owner_id)
    org_brand = api.system.brands.create(org.id, "Acme", None, None)
    own_brand = api.system.brands.create(alice.owner_id, "Mine", None, None)
    asset = uploaded(alice, org_id=org.id)

    assert patch(alice, asset["id"], {"brand_id": org_brand.id}).json()["brand_id"] == org_brand.id
    assert_invalid(patch(alice, asset["id"], {"brand_id": own_brand.id}), "brand_id")
    assert ids(alice.ok(f"/v1/assets?org_id={org.id}&brand_id={org_brand.id}")) == [asset["id"]]


def test_delete_removes_the_row_and_the_file(alice: Caller, api: ServedApi) -> None:
    asset = uploaded(alice)
    folder = api.files / "assets" / asset["id"]
    assert [path.name for path in folder.iterdir()] == ["logo.png"]

    deleted = alice.delete(f"/v1/assets/{asset['id']}")

    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {"id": asset["id"], "object": "asset", "deleted": True}
    assert api.count(assets) == 0
    assert not folder.exists()
    assert alice.get(f"/v1/assets/{asset['id']}").json() == NOT_FOUND
    assert alice.delete(f"/v1/assets/{asset['id']}").status_code == 404


def test_another_owners_asset_is_404_everywhere(
    alice: Caller, bob: Caller, api: ServedApi, anonymous: httpx.Client
) -> None:
    asset = uploaded(alice)
    path = f"/v1/assets/{asset['id']}"

    for response in (bob.get(path), patch(bob, asset["id"], {"brand_id": None}), bob.delete(path)):
        assert response.status_code == 404, response.text
        assert response.json() == NOT_FOUND
    assert ids(bob.ok("/v1/assets")) == []
    assert alice.ok(path)["brand_id"] is None
    assert anonymous.get(asset["url"]).status_code == 200


@pytest.mark.parametrize(
    "asset_id",
    ["asset_a%00b", "asset_%ED%B3%BF", "asset_%C3%A9t%C3%A9", "doc_abc", "asset_" + "a" * 61, "x"],
)
def test_ids_of_the_wrong_shape_are_404(alice: Caller, asset_id: str) -> None:
    path = f"/v1/assets/{asset_id}"
    for response in (alice.get(path), patch(alice, asset_id, {"brand_id": None})):
        assert response.status_code == 404, (path, response.text)
        assert response.json() == NOT_FOUND
    assert alice.delete(path).status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/v1/files/asset_a%00b/logo.png?expires=1&signature=abc",
        "/v1/files/asset_%ED%B3%BF/logo.png?expires=1&signature=abc",
    ],
)
def test_download_paths_of_the_wrong_shape_are_404(
    anonymous: httpx.Client, api: ServedApi, path: str
) -> None:
    response = anonymous.get(api.base_url + path)

    assert response.status_code == 404, response.text


def test_an_asset_link_needs_a_valid_signature(
    alice: Caller, anonymous: httpx.Client, api: ServedApi
) -> None:
    asset = uploaded(alice)
    base = asset["url"].split("?")[0]

    for query in ("", "?expires=1&signature=abc", "?expires=x&signature=abc"):
        assert anonymous.get(base + query).status_code == 403
    # A link signed for an export's id does not open an asset of the same random part.
    expires = api.system.clock.now_ms() + 60_000
    link = api.system.link_signer().link("exp_" + asset["id"][6:], "logo.png", expires).url
    assert anonymous.get(link.replace("/exp_", "/asset_")).status_code == 403
