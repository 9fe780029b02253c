"""The dashboard in a real browser: Debian's Chromium, driven by Playwright, against a served app.

An owner signs in with a key, watches a job go from processing to completed
without reloading, cancels another, opens a job page and an artifact's page
previews, and sees the charts; another owner's job never shows. The jobs are
prompt-only artifacts whose language model (the scripted stand-in) answers
only when the test lets it, so "processing" lasts exactly as long as the
test needs. The page must ask nothing of any other origin and log no error
(a script or style the policy refused would be logged). Screenshots go under
the test's tmp_path; their paths are printed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.api import MakeApi
from tests.support.artifacts import llm_document
from tests.support.browser import Watched, chromium
from tests.support.chat_server import ChatServer, Reply
from tests.support.waiting import wait_until

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

LIVE = 30_000  # ms: a refresh comes every 2 s; this is the most a slow machine may take


@pytest.fixture
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def shot(page: Page, path: Path) -> None:
    page.screenshot(path=path, full_page=True)
    assert path.stat().st_size > 1000
    print(f"screenshot: {path}")


def held(document: dict[str, object]) -> Reply:
    """The model's answer, sent only once the test sets `chat.release`."""
    return replace(Reply.document(document), hang=True)


def test_an_owner_watches_cancels_and_charts_their_jobs(
    make_api: MakeApi, chat: ChatServer, browser: Browser, tmp_path: Path
) -> None:
    api = make_api(llm=chat)
    alice, bob = api.caller("alice"), api.caller("bob")
    bobs = bob.create({"content": "# Bob's own"})["job_id"]
    chat.script(held(llm_document(3, "Tides")), held(llm_document(2, "Doomed")))
    watched = alice.create({"prompt": "A deck about tides", "page_count": 3})
    wait_until(lambda: len(chat.received) == 1)  # its generation is under way, held
    doomed = alice.create({"prompt": "A deck to cancel", "page_count": 2})
    wait_until(lambda: len(chat.received) == 2)
    view = Watched(browser.new_context(viewport={"width": 1280, "height": 900}).new_page())
    page = view.page

    # Sign in: the form (a wrong key first), then the jobs; the key is in no URL.
    page.goto(f"{api.base_url}/dashboard")
    expect(page).to_have_url(f"{api.base_url}/dashboard/sign-in")
    page.get_by_label("API key").fill("nxd_" + "A" * 40)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not valid")
    assert [error for error in view.errors if "401" not in error] == []  # the answer's status
    view.errors.clear()
    page.get_by_label("API key").fill(alice.key)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{api.base_url}/dashboard")
    row = page.locator(f'tr[data-job="{watched["job_id"]}"]')
    expect(row.locator(".status")).to_have_text("processing")
    expect(page.locator(f'tr[data-job="{doomed["job_id"]}"] .status')).to_have_text("processing")
    expect(page.locator(f'tr[data-job="{bobs}"]')).to_have_count(0)
    shot(page, tmp_path / "dashboard-processing.png")

    # Cancel the other job from its page.
    page.locator(f'tr[data-job="{doomed["job_id"]}"] a').click()
    expect(page).to_have_url(f"{api.base_url}/dashboard/jobs/{doomed['job_id']}")
    page.get_by_role("button", name="Cancel job").click()
    expect(page.locator("#job-status")).to_have_text("failed")
    expect(page.locator(".error")).to_contain_text("CANCELLED")
    expect(page.get_by_role("button", name="Cancel job")).to_have_count(0)
    assert alice.job(doomed["job_id"])["error"]["code"] == "CANCELLED"

    # Watch the first one finish, without reloading the page.
    page.goto(f"{api.base_url}/dashboard")
    expect(row.locator(".status")).to_have_text("processing")
    page.evaluate("window.notReloaded = true")
    chat.release.set()
    expect(row.locator(".status")).to_have_text("completed", timeout=LIVE)
    assert page.evaluate("window.notReloaded") is True
    expect(page.locator(f'tr[data-job="{doomed["job_id"]}"] .status')).to_have_text("failed")

    # The charts, drawn fresh: one job completed and one failed this hour.
    page.reload()
    for chart in ("depth", "throughput", "failures"):
        expect(page.locator(f"#chart-{chart} svg")).to_be_visible()
    expect(page.locator("#chart-throughput .total")).to_have_text("1 in the hour")
    expect(page.locator("#chart-failures .total")).to_have_text("1 in the hour")
    expect(page.locator("#chart-throughput rect.bar")).to_have_count(1)
    expect(page.locator("#chart-failures rect.bar title")).to_contain_text("1 failed")
    expect(page.locator("#chart-depth polyline.line")).to_have_count(1)
    # Both were processing at once (Bob's job counts for Bob only), and none is now.
    expect(page.locator("#chart-depth .total")).to_have_text("0 now, at most 2 in a minute")
    shot(page, tmp_path / "dashboard-jobs-and-charts.png")

    # The finished job's page, then its artifact's pages as images.
    row.locator("a").click()
    expect(page.locator("#job-status")).to_have_text("completed")
    expect(page.locator(".facts")).to_contain_text(["1 of 3"])
    expect(page.locator("pre").last).to_contain_text(watched["id"])
    shot(page, tmp_path / "dashboard-job.png")
    page.get_by_role("link", name="Tides").click()
    expect(page.locator(".previews img")).to_have_count(3)
    for image in page.locator(".previews img").all():
        image.scroll_into_view_if_needed()
        expect(image).to_have_js_property("complete", True, timeout=LIVE)
        assert image.evaluate("i => i.naturalWidth") > 100
    shot(page, tmp_path / "dashboard-artifact.png")

    # An export's job page links to its file: a signed link that needs no key.
    export = alice.export(watched["id"], "pdf", pages=[1, 2])
    page.goto(f"{api.base_url}/dashboard/jobs/{export['job_id']}")
    expect(page.locator("#job-status")).to_have_text("completed")
    link = page.get_by_role("link", name="Download")
    expect(link).to_contain_text(".pdf")
    shot(page, tmp_path / "dashboard-export-job.png")
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename.endswith(".pdf")
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF")

    # Signing out leads back to the form, and the dashboard stays closed.
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{api.base_url}/dashboard/sign-in")
    page.goto(f"{api.base_url}/dashboard")
    expect(page).to_have_url(f"{api.base_url}/dashboard/sign-in")

    view.assert_only(api.base_url)
    assert [url for url in view.requests if alice.key in url] == []
