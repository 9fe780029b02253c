"""Golden images: the reference deck must still look like the committed PNGs.

A change to the theme CSS or the slide layout that moves or recolours
anything visible fails here. When the change is intended, regenerate the
images with `make_golden.py` (see its docstring), look at them, commit them.

The score is the mean absolute difference per pixel and channel (0-255).
Anti-aliasing noise between machines stays far below the tolerance; a
recoloured theme scores above 7, a 1.5em list indent change about 1.4.
"""

from __future__ import annotations

import pytest
from PIL import Image, ImageChops, ImageStat

from nxdocs.render import BUILTIN_THEMES, DEFAULT_THEME_ID, get_theme

from .make_golden import GOLDEN_DIR, render_reference

TOLERANCE = 1.0


def _score(expected: Image.Image, actual: Image.Image) -> float:
    assert expected.size == actual.size
    return sum(ImageStat.Stat(ImageChops.difference(expected, actual)).mean) / 3


@pytest.fixture(scope="module")
def golden() -> dict[str, Image.Image]:
    images = {path.name: Image.open(path).convert("RGB") for path in GOLDEN_DIR.glob("*.png")}
    assert sorted(images) == ["page-001.png", "page-002.png", "page-003.png"]
    return images


def test_default_theme_matches_the_golden_images(golden: dict[str, Image.Image]) -> None:
    rendered = render_reference(get_theme(None))
    assert sorted(rendered) == sorted(golden)
    scores = {name: _score(golden[name], rendered[name]) for name in golden}
    assert all(score < TOLERANCE for score in scores.values()), scores


@pytest.mark.parametrize("theme_id", sorted(set(BUILTIN_THEMES) - {DEFAULT_THEME_ID}))
def test_another_theme_does_not_match(golden: dict[str, Image.Image], theme_id: str) -> None:
    rendered = render_reference(get_theme(theme_id))
    scores = {name: _score(golden[name], rendered[name]) for name in golden}
    assert all(score > TOLERANCE for score in scores.values()), scores
