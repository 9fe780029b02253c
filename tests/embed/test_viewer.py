"""`GET /v1/embed/view/{token}`: the viewer page, opened by its token alone.

A valid token draws the artifact's pages with strict headers; a token nxdocs
did not sign, in any shape, is a 403; an expired one, or one whose artifact
was deleted, a 410. None of them is ever a 500, and the token opens nothing
but the viewer.
"""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest

from tests.assets.samples import image_bytes, uploaded
from tests.embed.conftest import EXTERNAL_IMAGE, SPEAKER_NOTES, embed_of, ready_deck
from tests.support.api import Caller, MakeApi, ServedApi
from tests.support.clock import ManualClock

VIEWER = "/v1/embed/view/"


def viewer_token(body: dict[str, str]) -> str:
    url = body["embed_url"]
    assert VIEWER in url
    return url.split(VIEWER, 1)[1]


def open_viewer(api: ServedApi, token: str) -> httpx.Response:
    """The viewer as a browser asks for it: no key."""
    return api.http.get(VIEWER + token)


def refused(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


def test_a_valid_token_draws_the_pages(api: ServedApi, alice: Caller) -> None:
    deck = ready_deck(alice)
    response = open_viewer(api, viewer_token(embed_of(alice, deck["id"])))

    assert response.status_code == 200
    page = response.text
    for number in (1, 2, 3):
        assert f'data-page="{number}"' in page
    assert 'data-page="4"' not in page
    assert "Launch plan" in page
    assert "<li>ship</li>" in page
    assert "<th>who</th>" in page
    assert '<img src="data:image/png;base64,' in page  # a data: image is drawn
    assert EXTERNAL_IMAGE not in page  # an external one is not: its alt text shows
    assert 'aria-label="x"' in page
    assert SPEAKER_NOTES not in page
    assert 'id="nxv-counter"' in page


def test_the_owners_assets_are_drawn_and_no_one_elses(
    api: ServedApi, alice: Caller, bob: Caller
) -> None:
    mine = uploaded(alice, image_bytes("png"))
    theirs = uploaded(bob, image_bytes("png"))
    content = f"# Logos\n\n![ours]({mine['id']})\n\n![theirs]({theirs['id']})\n"
    deck = alice.ready_artifact({"content": content})
    page = open_viewer(api, viewer_token(embed_of(alice, deck["id"]))).text
    drawn = page.split('<img src="data:image/png;base64,')
    assert len(drawn) == 2  # alice's asset only; bob's shows its alt text
    assert 'aria-label="theirs"' in page
    assert theirs["id"] not in page


def test_the_page_is_sent_with_strict_headers(api: ServedApi, alice: Caller) -> None:
    deck = ready_deck(alice)
    response = open_viewer(api, viewer_token(embed_of(alice, deck["id"])))

    headers = response.headers
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cache-control"] == "private, no-store"
    assert "x-frame-options" not in headers
    policy = [part.strip() for part in headers["content-security-policy"].split(";")]
    assert policy[0] == "default-src 'none'"
    assert policy[1].startswith("script-src 'sha256-")
    assert "frame-ancestors *" in policy
    assert "img-src data:" in policy
    assert not [part for part in policy if part.startswith("connect-src")]


def _flip(token: str) -> str:
    return token[:-1] + ("0" if token[-1] != "0" else "1")


def test_a_tampered_token_is_403(api: ServedApi, alice: Caller) -> None:
    token = viewer_token(embed_of(alice, ready_deck(alice)["id"]))

    refused(open_viewer(api, _flip(token)), 403, "FORBIDDEN")
    later = token.split(".")
    later[2] = str(int(later[2]) + 86_400_000)
    refused(open_viewer(api, ".".join(later)), 403, "FORBIDDEN")


def test_a_token_opens_only_its_own_artifact(api: ServedApi, alice: Caller, bob: Caller) -> None:
    mine = ready_deck(alice)
    theirs = ready_deck(bob, name="Bob's")
    token = viewer_token(embed_of(alice, mine["id"]))

    refused(open_viewer(api, token.replace(mine["id"], theirs["id"])), 403, "FORBIDDEN")
    # Nor is it a key, for any route.
    for path in (f"/v1/artifacts/{mine['id']}", f"/v1/embed/{mine['id']}", "/v1/artifacts"):
        response = api.http.get(path, headers={"Authorization": f"Bearer {token}"})
        refused(response, 401, "UNAUTHORIZED")


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "%00",
        "doc_abc%00.theme_classic.1." + "a" * 64,
        "%C3%A9",
        "doc_abc.theme_classic.%C2%B2." + "a" * 64,
        "doc_abc.theme_classic.1." + "a" * 64 + "%0A",
        "doc_abc.theme_classic.1." + "a" * 64,
        "exp_abc.theme_classic.1." + "a" * 64,
        "%FF%FE",
        "...",
    ],
)
def test_a_token_of_another_shape_is_403(api: ServedApi, token: str) -> None:
    refused(open_viewer(api, token), 403, "FORBIDDEN")


def test_an_overlong_token_is_400(api: ServedApi) -> None:
    refused(open_viewer(api, "a" * 257), 400, "VALIDATION_ERROR")


def test_a_path_beyond_a_token_is_404(api: ServedApi) -> None:
    for path in (VIEWER + "a/b", VIEWER + "a/b/c"):
        refused(api.http.get(path), 404, "NOT_FOUND")


def test_an_expired_token_is_410(make_api: MakeApi) -> None:
    clock = ManualClock()
    api = make_api(clock=clock, embed_link_seconds=60)
    alice = api.caller()
    token = viewer_token(embed_of(alice, ready_deck(alice)["id"]))

    clock.advance(60)
    assert open_viewer(api, token).status_code == 200
    clock.advance(0.001)
    refused(open_viewer(api, token), 410, "LINK_EXPIRED")
    refused(open_viewer(api, _flip(token)), 403, "FORBIDDEN")  # the signature is checked first


def test_deleting_the_artifact_ends_the_link(api: ServedApi, alice: Caller) -> None:
    deck = ready_deck(alice)
    token = viewer_token(embed_of(alice, deck["id"]))
    assert open_viewer(api, token).status_code == 200

    assert alice.delete(f"/v1/artifacts/{deck['id']}").status_code == 200

    response = open_viewer(api, token)
    refused(response, 410, "LINK_EXPIRED")
    assert "deleted" in response.json()["error"]["message"]


def test_a_token_survives_quoting(api: ServedApi, alice: Caller) -> None:
    """What a client may do to the URL (percent-encode every byte) changes nothing."""
    token = viewer_token(embed_of(alice, ready_deck(alice)["id"]))
    quoted = "".join(f"%{byte:02X}" for byte in token.encode())

    assert quote(token, safe="") == token  # nothing in it needs quoting
    assert open_viewer(api, quoted).status_code == 200
