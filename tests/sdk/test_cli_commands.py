"""`nxdocs jobs|artifacts|export` through Typer's runner: output, JSON and exit codes
(0 ok, 1 API or connection error, 2 usage, 3 job failed, 4 timed out)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pypdf import PdfReader
from typer.testing import CliRunner, Result

from nxdocs.cli import app
from tests.sdk.conftest import Run
from tests.sdk.servers import DECK
from tests.support.server import free_port


def as_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_artifacts_create_from_a_file_and_wait(run: Run, tmp_path: Path) -> None:
    deck = tmp_path / "deck.md"
    deck.write_text(DECK)
    artifact = as_json(run("artifacts", "create", "--content", str(deck), "--wait", "--json"))
    assert (artifact["status"], artifact["page_count"]) == ("ready", 3)


def test_artifacts_create_from_stdin_then_jobs_wait(run: Run) -> None:
    started = as_json(run("artifacts", "create", "--content", "-", "--json", input=DECK))
    assert started["status"] == "generating"
    job = as_json(run("jobs", "wait", started["job_id"], "--json"))
    assert (job["status"], job["result"]) == ("completed", {"artifact_id": started["id"]})
    shown = run("jobs", "get", started["job_id"])
    assert shown.exit_code == 0
    assert "completed" in shown.stdout


def test_artifacts_create_from_a_prompt_shows_a_table(run: Run) -> None:
    made = run("artifacts", "create", "--prompt", "Hiring plan", "--type", "document", "--wait")
    assert made.exit_code == 0, made.output
    assert "ready" in made.stdout
    assert "document" in made.stdout


def test_names_with_brackets_are_shown_as_they_are(run_idle: Run) -> None:
    # Rich would read "[/bold]" as markup (and fail) or "[link=...]" as a link.
    made = as_json(run_idle("artifacts", "create", "--prompt", "x", "--name", "[/b][i]", "--json"))
    listed = run_idle("artifacts", "list")
    assert listed.exit_code == 0, listed.output  # a narrow terminal folds the name's column
    shown = run_idle("artifacts", "get", made["id"])
    assert shown.exit_code == 0, shown.output
    assert "[/b][i]" in shown.stdout


def test_artifacts_list_get_and_delete(run_idle: Run) -> None:
    ids = [
        as_json(run_idle("artifacts", "create", "--prompt", f"Deck {n}", "--json"))["id"]
        for n in range(3)
    ]
    listed = as_json(run_idle("artifacts", "list", "--limit", "2", "--json"))
    assert [artifact["id"] for artifact in listed] == ids[:0:-1]
    table = run_idle("artifacts", "list")
    assert all(artifact_id in table.stdout for artifact_id in ids)
    assert as_json(run_idle("artifacts", "get", ids[0], "--json"))["id"] == ids[0]
    assert as_json(run_idle("artifacts", "delete", ids[0], "--json"))["deleted"] is True
    gone = run_idle("artifacts", "get", ids[0])
    assert gone.exit_code == 1
    assert "NOT_FOUND (404)" in gone.stderr


def test_jobs_list_cancel_and_the_exit_codes_of_a_failed_job(run_idle: Run) -> None:
    made = [
        as_json(run_idle("artifacts", "create", "--prompt", "x", "--json"))["job_id"]
        for _ in range(3)
    ]
    listed = as_json(run_idle("jobs", "list", "--limit", "2", "--json"))
    assert [job["id"] for job in listed] == made[:0:-1]
    cancelled = as_json(run_idle("jobs", "cancel", made[0], "--json"))
    assert cancelled["error"]["code"] == "CANCELLED"
    failed = as_json(run_idle("jobs", "list", "--status", "failed", "--json"))
    assert [job["id"] for job in failed] == [made[0]]
    again = run_idle("jobs", "cancel", made[0])
    assert again.exit_code == 1
    assert "CONFLICT (409)" in again.stderr
    waited = run_idle("jobs", "wait", made[0])
    assert waited.exit_code == 3
    assert "CANCELLED" in waited.stderr
    timed_out = run_idle("jobs", "wait", made[1], "--timeout", "0.2")
    assert timed_out.exit_code == 4
    table = run_idle("jobs", "list")
    assert all(job_id in table.stdout for job_id in made)


def test_export_shows_the_pages_done_and_saves_the_file(run: Run, tmp_path: Path) -> None:
    artifact = as_json(run("artifacts", "create", "--content", "-", "--wait", "--json", input=DECK))
    target = tmp_path / "deck.pdf"
    exported = run("export", artifact["id"], "--format", "pdf", "-o", str(target))
    assert exported.exit_code == 0, exported.output
    assert "3/3 pages" in exported.stderr
    assert f"Saved {target}" in exported.stderr
    assert len(PdfReader(target).pages) == 3
    pages = as_json(run("export", artifact["id"], "--pages", "1,3", "-o", str(tmp_path), "--json"))
    assert pages["pages_exported"] == 2
    assert (tmp_path / pages["file_name"]).is_file()


def test_an_export_that_fails_exits_3(run: Run) -> None:
    artifact = as_json(run("artifacts", "create", "--content", "-", "--wait", "--json", input=DECK))
    failed = run("export", artifact["id"], "--format", "google-slides")
    assert failed.exit_code == 3
    assert "GOOGLE_AUTH_REQUIRED" in failed.stderr


def test_usage_errors_exit_2(run: Run) -> None:
    assert run("artifacts", "create").exit_code == 2
    assert run("export", "doc_x", "--pages", "one").exit_code == 2
    assert run("export", "doc_x", "--format", "gif").exit_code == 2
    unkeyed = CliRunner().invoke(app, ["jobs", "get", "job_x"])
    assert unkeyed.exit_code == 2
    assert "No API key" in unkeyed.stderr


def test_no_server_exits_1() -> None:
    base_url = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(
        app, ["jobs", "get", "job_x", "--base-url", base_url, "--api-key", "nxd_x"]
    )
    assert result.exit_code == 1
    assert "ConnectError" in result.stderr
    assert "nxd_x" not in result.output
