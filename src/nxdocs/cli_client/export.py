"""`nxdocs export ARTIFACT_ID --format pdf -o deck.pdf`: export, a live progress bar of
the pages rendered, then the file streamed to disk."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from nxdocs.cli_client.options import ApiKey, AsJson, BaseUrl, Timeout, connect
from nxdocs.cli_client.output import exit_codes, job_exit, show, stderr, stdout
from nxdocs.sdk import Client, Export, Job


class Format(StrEnum):
    PDF = "pdf"
    PPTX = "pptx"
    PNG = "png"
    HTML = "html"
    GOOGLE_SLIDES = "google-slides"


def export_command(
    artifact_id: Annotated[str, typer.Argument(help="The artifact's id, doc_...")],
    *,
    export_format: Annotated[
        Format, typer.Option("--format", "-f", help="The file's format.")
    ] = Format.PDF,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Where to save the file; a folder keeps the export's file name "
            "(default: that name, here).",
            show_default=False,
        ),
    ] = None,
    pages: Annotated[
        str | None,
        typer.Option(help="Only these pages, e.g. 1,2,5 (default: all).", show_default=False),
    ] = None,
    timeout: Timeout = 900.0,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    as_json: AsJson = False,
) -> None:
    """Export an artifact with a live bar of the pages rendered, then download the file."""
    page_list = _pages(pages)
    with exit_codes(), connect(base_url, api_key) as client:
        export = client.exports.create_async(artifact_id, export_format, pages=page_list)
        if export.job_id is not None:
            job_exit(_follow(client, export.job_id, timeout))
        if export_format is Format.GOOGLE_SLIDES:
            _show_presentation(client.exports.get(export.id), as_json)
            return
        path = client.exports.download(export.id, output or Path.cwd(), timeout=timeout)
        if as_json:
            show(client.exports.get(export.id), as_json=True)
        else:
            stderr().print(
                f"Saved {path} ({path.stat().st_size:,} bytes)", markup=False, soft_wrap=True
            )


def _show_presentation(export: Export, as_json: bool) -> None:
    """A Google Slides export has no file: the presentation is in the owner's Google Drive
    (the hosted API makes one; nxdocs, with no Google account, fails these exports)."""
    if as_json:
        show(export, as_json=True)
    else:
        presentation = export.google_slides_presentation_id
        stdout().print(f"Google Slides presentation: {presentation}", markup=False)


def _follow(client: Client, job_id: str, timeout: float) -> Job:
    """Wait for the export's job, with a bar of its pages done out of the total."""
    columns = (
        TextColumn("Exporting"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("pages"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=stderr(), transient=False) as bar:
        task = bar.add_task("export", total=None)

        def update(job: Job) -> None:
            if job.progress is not None:
                bar.update(task, completed=job.progress.done, total=job.progress.total)

        return client.jobs.wait(job_id, timeout, on_update=update)


def _pages(pages: str | None) -> list[int] | None:
    if pages is None:
        return None
    try:
        return [int(page) for page in pages.split(",")]
    except ValueError:
        raise typer.BadParameter(
            "a comma-separated list of page numbers", param_hint="--pages"
        ) from None
