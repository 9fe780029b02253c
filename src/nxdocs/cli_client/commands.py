"""`nxdocs jobs|artifacts|export`: the CLI client of any nxdocs server, on the SDK.

Every command takes `--base-url` and `--api-key` (or NXDOCS_BASE_URL and
NXDOCS_API_KEY) and `--json`; exit codes are `ExitCode`'s (docs/cli.md).
"""

from __future__ import annotations

import functools
import itertools
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from nxdocs.cli_client.export import export_command
from nxdocs.cli_client.options import (
    ApiKey,
    AsJson,
    BaseUrl,
    OrgId,
    Timeout,
    connect,
)
from nxdocs.cli_client.output import exit_codes, job_exit, show, show_list
from nxdocs.sdk import Artifact, Job

jobs_app = typer.Typer(help="Follow, list and cancel jobs.", no_args_is_help=True)
artifacts_app = typer.Typer(help="Create, list, show and delete artifacts.", no_args_is_help=True)


class ArtifactType(StrEnum):
    PRESENTATION = "presentation"
    DOCUMENT = "document"


JOB_COLUMNS = ("id", "type", "status", "progress", "created_at", "result", "error")
ARTIFACT_COLUMNS = ("id", "name", "type", "status", "page_count", "created_at")
JobId = Annotated[str, typer.Argument(help="The job's id, job_...")]
ArtifactId = Annotated[str, typer.Argument(help="The artifact's id, doc_...")]
Limit = Annotated[int, typer.Option(min=1, help="Show at most this many, newest first.")]


def register(app: typer.Typer) -> None:
    """Add the client commands to the `nxdocs` command."""
    app.add_typer(jobs_app, name="jobs")
    app.add_typer(artifacts_app, name="artifacts")
    app.command("export")(export_command)


@jobs_app.command("get")
def jobs_get(
    job_id: JobId, base_url: BaseUrl = None, api_key: ApiKey = None, as_json: AsJson = False
) -> None:
    """Show a job as it is now."""
    with exit_codes(), connect(base_url, api_key) as client:
        show(client.jobs.get(job_id), as_json)


@jobs_app.command("wait")
def jobs_wait(
    job_id: JobId,
    timeout: Timeout = 600.0,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    as_json: AsJson = False,
) -> None:
    """Wait until a job completes or fails, then show it (exit 3 if it failed)."""
    with exit_codes(), connect(base_url, api_key) as client:
        job = client.jobs.wait(job_id, timeout)
        show(job, as_json)
        job_exit(job)


@jobs_app.command("list")
def jobs_list(
    *,
    status: Annotated[
        str | None, typer.Option(help="processing, completed or failed.", show_default=False)
    ] = None,
    job_type: Annotated[
        str | None,
        typer.Option("--type", help="artifact.create or export.run.", show_default=False),
    ] = None,
    created_after: Annotated[
        str | None, typer.Option(help="RFC 3339, e.g. 2026-01-15T10:30:00Z.", show_default=False)
    ] = None,
    created_before: Annotated[
        str | None, typer.Option(help="RFC 3339, e.g. 2026-01-15T10:30:00Z.", show_default=False)
    ] = None,
    limit: Limit = 20,
    org_id: OrgId = None,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    as_json: AsJson = False,
) -> None:
    """List your jobs, newest first, fetching as many pages as --limit needs."""
    with exit_codes(), connect(base_url, api_key) as client:
        found = client.jobs.list(
            status=status,
            type=job_type,
            created_after=created_after,
            created_before=created_before,
            limit=min(limit, 100),
            org_id=org_id,
        )
        jobs: list[Job] = list(itertools.islice(found, limit))
        show_list(jobs, JOB_COLUMNS, as_json)


@jobs_app.command("cancel")
def jobs_cancel(
    job_id: JobId, base_url: BaseUrl = None, api_key: ApiKey = None, as_json: AsJson = False
) -> None:
    """Cancel a processing job (it ends failed, CANCELLED); exit 1 if it had finished."""
    with exit_codes(), connect(base_url, api_key) as client:
        show(client.jobs.cancel(job_id), as_json)


@artifacts_app.command("create")
def artifacts_create(
    *,
    content: Annotated[
        str | None,
        typer.Option(
            help="A Markdown file (slides split on ---); - reads standard input.",
            show_default=False,
        ),
    ] = None,
    prompt: Annotated[
        str | None, typer.Option(help="What to generate.", show_default=False)
    ] = None,
    artifact_type: Annotated[
        ArtifactType | None,
        typer.Option("--type", help="(default: presentation)", show_default=False),
    ] = None,
    name: Annotated[str | None, typer.Option(show_default=False)] = None,
    page_count: Annotated[
        int | None, typer.Option(min=1, max=50, help="Pages for a prompt.", show_default=False)
    ] = None,
    theme_id: Annotated[str | None, typer.Option(show_default=False)] = None,
    org_id: OrgId = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Wait until it is ready (exit 3 if it fails).")
    ] = False,
    timeout: Timeout = 600.0,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    as_json: AsJson = False,
) -> None:
    """Create an artifact from Markdown (--content) or a prompt (--prompt), or both."""
    if content is None and prompt is None:
        raise typer.BadParameter(
            "give a Markdown file (or - for standard input), or --prompt",
            param_hint="--content",
        )
    markdown = None if content is None else _read(content)
    with exit_codes(), connect(base_url, api_key) as client:
        create: Callable[..., Artifact] = (
            functools.partial(client.artifacts.create, timeout=timeout)
            if wait
            else client.artifacts.create_async
        )
        artifact = create(
            prompt,
            content=markdown,
            type=artifact_type,
            name=name,
            page_count=page_count,
            theme_id=theme_id,
            org_id=org_id,
        )
        show(artifact, as_json)


def _read(content: str) -> str:
    if content == "-":
        return sys.stdin.read()
    try:
        return Path(content).read_text(encoding="utf-8")
    except OSError as exc:
        raise typer.BadParameter(
            f"cannot read {content}: {exc.strerror}", param_hint="--content"
        ) from None


@artifacts_app.command("list")
def artifacts_list(
    limit: Limit = 20,
    org_id: OrgId = None,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    as_json: AsJson = False,
) -> None:
    """List your artifacts, newest first."""
    with exit_codes(), connect(base_url, api_key) as client:
        found = client.artifacts.list(limit=min(limit, 20), org_id=org_id)
        show_list(list(itertools.islice(found, limit)), ARTIFACT_COLUMNS, as_json)


@artifacts_app.command("get")
def artifacts_get(
    artifact_id: ArtifactId,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    as_json: AsJson = False,
) -> None:
    """Show an artifact."""
    with exit_codes(), connect(base_url, api_key) as client:
        show(client.artifacts.get(artifact_id), as_json)


@artifacts_app.command("delete")
def artifacts_delete(
    artifact_id: ArtifactId,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    as_json: AsJson = False,
) -> None:
    """Delete an artifact, with its exports and their files."""
    with exit_codes(), connect(base_url, api_key) as client:
        show(client.artifacts.delete(artifact_id), as_json)
