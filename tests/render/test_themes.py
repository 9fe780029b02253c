"""Themes: the hosted JSON shape, the built-ins, and strict validation."""

from __future__ import annotations

import subprocess

import pytest
from pydantic import ValidationError

from nxdocs.render import BUILTIN_THEMES, DEFAULT_THEME_ID, Theme, UnknownThemeError, get_theme

COLOR_KEYS = {
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


def test_theme_api_object_matches_the_hosted_shape() -> None:
    body = get_theme("theme_midnight").to_api()
    assert body["object"] == "theme"
    assert set(body) == {
        "object",
        "id",
        "name",
        "is_custom",
        "font_primary",
        "font_secondary",
        "colors",
    }
    assert set(body["colors"]) == COLOR_KEYS
    assert body["id"] == "theme_midnight"
    assert body["is_custom"] is False


def test_at_least_four_builtin_themes_all_distinct() -> None:
    assert len(BUILTIN_THEMES) >= 4
    assert DEFAULT_THEME_ID in BUILTIN_THEMES
    backgrounds = {theme.colors.background for theme in BUILTIN_THEMES.values()}
    assert len(backgrounds) == len(BUILTIN_THEMES)
    assert all(theme_id == theme.id for theme_id, theme in BUILTIN_THEMES.items())


def test_get_theme() -> None:
    assert get_theme(None).id == DEFAULT_THEME_ID
    assert get_theme("theme_ocean").name == "Ocean"
    with pytest.raises(UnknownThemeError):
        get_theme("theme_nope")


def test_builtin_fonts_are_installed() -> None:
    installed = subprocess.run(
        ["fc-list", ":", "family"], capture_output=True, text=True, check=True
    ).stdout
    families = {name for line in installed.splitlines() for name in line.split(",")}
    for theme in BUILTIN_THEMES.values():
        assert {theme.font_primary, theme.font_secondary} <= families


@pytest.mark.parametrize(
    "change",
    [
        {"colors": {"primary": "red; } body { display: none"}},
        {"colors": {"primary": "#12345"}},
        {"font_primary": 'Evil", serif; } * { color: red'},
        {"id": "classic"},
    ],
)
def test_values_that_reach_css_are_validated(change: dict[str, object]) -> None:
    data = get_theme(None).model_dump()
    for key, value in change.items():
        if isinstance(value, dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    with pytest.raises(ValidationError):
        Theme.model_validate(data)
