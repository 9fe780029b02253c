"""Themes and brands: the hosted objects, a brand made with the real CLI, and its effect."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nxdocs.settings import Settings
from tests.support.api import Caller, ServedApi
from tests.support.artifacts import assert_hosted_artifact
from tests.support.contract import NOT_FOUND
from tests.support.process import child_env, nxdocs

THEME_FIELDS = ["object", "id", "name", "is_custom", "font_primary", "font_secondary", "colors"]
COLOR_SLOTS = {
    "background",
    "foreground",
    "muted",
    "card",
    "text_on_muted",
    "text_on_card",
    "primary",
    "secondary",
    "tertiary",
}
INSTRUCTION = "Speak like a lighthouse keeper; mention the tide."


# Themes are built in: nothing about them is stored, so one database is enough.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_themes_list_the_hosted_theme_objects(api: ServedApi, alice: Caller) -> None:
    response = alice.get("/v1/themes")

    assert response.status_code == 200
    body = response.json()
    assert (body["object"], body["has_more"]) == ("list", False)
    themes = body["data"]
    assert len(themes) >= 4
    assert len({theme["id"] for theme in themes}) == len(themes)
    assert "theme_midnight" in {theme["id"] for theme in themes}
    for theme in themes:
        assert sorted(theme) == sorted(THEME_FIELDS), theme
        assert theme["object"] == "theme"
        assert re.fullmatch(r"theme_[a-z0-9_]+", theme["id"])
        assert theme["is_custom"] is False
        assert all(isinstance(theme[f], str) and theme[f] for f in ("name", "font_primary"))
        assert theme["font_secondary"]
        assert set(theme["colors"]) >= COLOR_SLOTS
        assert all(re.fullmatch(r"#[0-9a-fA-F]{6}", c) for c in theme["colors"].values())
    assert alice.http.get("/v1/themes").status_code == 401


@pytest.mark.slow
def test_a_brand_made_with_the_cli_is_listed_for_its_owner_and_styles_their_artifacts(
    api: ServedApi, alice: Caller, bob: Caller, settings: Settings, tmp_path: Path
) -> None:
    env = child_env(database_url=settings.resolved_database_url(), data_dir=str(tmp_path / "cli"))
    made = nxdocs(
        "brands",
        "create",
        "--owner",
        alice.owner_id,
        "--name",
        "Harbour",
        "--ai-instruction",
        INSTRUCTION,
        "--theme",
        "theme_midnight",
        env=env,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    brand_id = made.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"brand_[a-z0-9]+", brand_id), made.stdout

    listed = alice.get("/v1/brands").json()
    assert (listed["object"], listed["has_more"]) == ("list", False)
    [brand] = listed["data"]
    midnight = next(
        t for t in alice.get("/v1/themes").json()["data"] if t["id"] == "theme_midnight"
    )
    assert brand["id"] == brand_id
    assert (brand["object"], brand["name"], brand["ai_instruction"], brand["theme_id"]) == (
        "brand",
        "Harbour",
        INSTRUCTION,
        "theme_midnight",
    )
    assert brand["theme"] == midnight
    assert alice.get(f"/v1/brands/{brand_id}").json() == brand
    assert bob.get("/v1/brands").json() == {"object": "list", "data": [], "has_more": False}
    theirs = bob.get(f"/v1/brands/{brand_id}")
    assert (theirs.status_code, theirs.json()) == (404, NOT_FOUND)

    branded = alice.generated({"content": "# Tides", "brand_id": brand_id})
    assert_hosted_artifact(branded, "ready")
    assert (branded["brand_id"], branded["theme_id"]) == (brand_id, "theme_midnight")
    # A theme asked for explicitly wins over the brand's.
    themed = alice.create({"content": "# Tides", "brand_id": brand_id, "theme_id": "theme_ocean"})
    assert (themed["brand_id"], themed["theme_id"]) == (brand_id, "theme_ocean")
