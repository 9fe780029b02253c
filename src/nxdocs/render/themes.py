"""Themes: the colours and fonts every renderer applies, as plain data.

The fields mirror the hosted API's theme object. Built-in themes use only
DejaVu fonts, which every Debian image ships, so a rendered PDF or PNG looks
the same on every machine. Colours and font names are validated strictly
because they are written verbatim into CSS and PPTX XML: a theme must not be
able to inject anything there, even once custom themes exist.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

Color = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")]
FontName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9 \-]{0,63}$")]


class ThemeColors(BaseModel):
    """The hosted theme's colour slots, each a `#rrggbb` string."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    background: Color
    foreground: Color
    muted: Color
    card: Color
    text_on_muted: Color
    text_on_card: Color
    primary: Color
    secondary: Color
    tertiary: Color


class Theme(BaseModel):
    """A theme: `font_primary` sets headings, `font_secondary` body text."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(pattern=r"^theme_[a-z0-9_]{1,64}$")]
    name: Annotated[str, Field(min_length=1, max_length=100)]
    is_custom: bool = False
    font_primary: FontName
    font_secondary: FontName
    colors: ThemeColors

    def to_api(self) -> dict[str, Any]:
        """The hosted API's JSON theme object."""
        return {"object": "theme", **self.model_dump(mode="json")}


class UnknownThemeError(LookupError):
    """No theme has the requested id."""


_SANS = "DejaVu Sans"
_SERIF = "DejaVu Serif"

BUILTIN_THEMES: dict[str, Theme] = {
    theme.id: theme
    for theme in (
        Theme(
            id="theme_classic",
            name="Classic",
            font_primary=_SERIF,
            font_secondary=_SANS,
            colors=ThemeColors(
                background="#ffffff",
                foreground="#1f2933",
                muted="#e4e7eb",
                card="#f5f7fa",
                text_on_muted="#323f4b",
                text_on_card="#1f2933",
                primary="#2563eb",
                secondary="#0f766e",
                tertiary="#d97706",
            ),
        ),
        Theme(
            id="theme_midnight",
            name="Midnight",
            font_primary=_SANS,
            font_secondary=_SANS,
            colors=ThemeColors(
                background="#0f172a",
                foreground="#e2e8f0",
                muted="#334155",
                card="#1e293b",
                text_on_muted="#f1f5f9",
                text_on_card="#e2e8f0",
                primary="#38bdf8",
                secondary="#a78bfa",
                tertiary="#f472b6",
            ),
        ),
        Theme(
            id="theme_ocean",
            name="Ocean",
            font_primary=_SANS,
            font_secondary=_SERIF,
            colors=ThemeColors(
                background="#f0f9ff",
                foreground="#0c4a6e",
                muted="#bae6fd",
                card="#e0f2fe",
                text_on_muted="#082f49",
                text_on_card="#0c4a6e",
                primary="#0284c7",
                secondary="#0d9488",
                tertiary="#4f46e5",
            ),
        ),
        Theme(
            id="theme_sunset",
            name="Sunset",
            font_primary=_SERIF,
            font_secondary=_SANS,
            colors=ThemeColors(
                background="#fff7ed",
                foreground="#431407",
                muted="#fed7aa",
                card="#ffedd5",
                text_on_muted="#431407",
                text_on_card="#7c2d12",
                primary="#ea580c",
                secondary="#db2777",
                tertiary="#7c3aed",
            ),
        ),
    )
}

DEFAULT_THEME_ID = "theme_classic"


def get_theme(theme_id: str | None) -> Theme:
    """The built-in theme with this id; the default theme when `theme_id` is None."""
    try:
        return BUILTIN_THEMES[theme_id or DEFAULT_THEME_ID]
    except KeyError:
        raise UnknownThemeError(f"no theme with id {theme_id!r}") from None
