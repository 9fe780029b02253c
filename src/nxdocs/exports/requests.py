"""The rules of an export request that need the artifact it exports."""

from __future__ import annotations

from nxdocs.artifacts.model import READY, Artifact
from nxdocs.artifacts.requests import FieldError


def check_pages(artifact: Artifact, pages: list[int] | None) -> None:
    """Every page asked for exists.

    Page numbers can be checked only once the pages exist; for an artifact
    still generating, the job checks them (PAGES_OUT_OF_RANGE).
    """
    if artifact.status != READY or not pages or artifact.page_count is None:
        return
    beyond = [page for page in pages if page > artifact.page_count]
    if beyond:
        raise FieldError(
            "pages", f"The artifact has {artifact.page_count} pages; {beyond} do not exist."
        )
