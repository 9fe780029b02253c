"""The jobs pages: the live table with its charts, one job's page, and cancel.

Every read is scoped to the session's owners, as the API scopes it: the table
and charts show the key's own space (`Session.workspace`, what `GET /v1/jobs`
lists), a job page any job the key may see (`Principal.visible`, what
`GET /v1/jobs/{id}` shows); any other id is a 404, exactly like one that does
not exist. The fragments (`/rows`, `/charts`, `/panel`) are what the page's
script fetches to refresh itself.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from nxdocs.dashboard.activity import BUCKET_MS
from nxdocs.dashboard.charts import bar_chart, line_chart
from nxdocs.dashboard.context import Dashboard
from nxdocs.dashboard.details import JobDetail
from nxdocs.dashboard.filters import PERIODS, STATUSES, JobQuery
from nxdocs.dashboard.forms import PostedFields
from nxdocs.dashboard.messages import forbidden, not_found
from nxdocs.dashboard.sessions import csrf_matches
from nxdocs.dashboard.signed_in import DashboardDep, Session, SignedIn
from nxdocs.db.pagination import UnknownCursorError
from nxdocs.exports.model import COMPLETED
from nxdocs.ids import is_id
from nxdocs.jobs.control import JobAlreadyFinishedError, JobControl
from nxdocs.jobs.model import ARTIFACT_CREATE, EXPORT_RUN, JOB_TYPES

router = APIRouter(prefix="/dashboard", include_in_schema=False)

PAGE_SIZE = 25


@router.get("")
def overview(request: Request, session: SignedIn, dash: DashboardDep) -> Response:
    query = JobQuery.parse(request.query_params)
    return dash.pages.render(
        "jobs.html.j2",
        session=session,
        query=query,
        statuses=STATUSES,
        types=JOB_TYPES,
        periods=PERIODS,
        **_rows(dash, session, query),
        **_charts(dash, session),
    )


@router.get("/jobs/rows")
def rows(request: Request, session: SignedIn, dash: DashboardDep) -> Response:
    query = JobQuery.parse(request.query_params)
    return dash.pages.render("_job_rows.html.j2", **_rows(dash, session, query))


@router.get("/charts")
def charts(session: SignedIn, dash: DashboardDep) -> Response:
    return dash.pages.render("_charts.html.j2", **_charts(dash, session))


@router.get("/jobs/{job_id}")
def job_page(job_id: str, session: SignedIn, dash: DashboardDep) -> Response:
    job = _job(dash, session, job_id)
    if job is None:
        return not_found(dash, session)
    return dash.pages.render(
        "job.html.j2", session=session, notice=None, **_related(dash, session, job)
    )


@router.get("/jobs/{job_id}/panel")
def job_panel(job_id: str, session: SignedIn, dash: DashboardDep) -> Response:
    job = _job(dash, session, job_id)
    if job is None:
        return not_found(dash, session)
    return dash.pages.render("_job_panel.html.j2", session=session, **_related(dash, session, job))


@router.post("/jobs/{job_id}/cancel")
def cancel(
    job_id: str,
    session: SignedIn,
    dash: DashboardDep,
    fields: PostedFields,
) -> Response:
    """The API's cancel (`JobControl.cancel`, as `POST /v1/jobs/{id}/cancel`), then
    back to the job's page; a job that had already finished says so there."""
    if not csrf_matches(session.csrf, fields.get("csrf", "")):
        return forbidden(dash)
    if not is_id(job_id, "job"):
        return not_found(dash, session)
    control = JobControl(dash.system.store)
    try:
        cancelled = control.cancel(
            job_id, session.principal.visible, by=f"owner {session.principal.user_id}"
        )
    except JobAlreadyFinishedError as finished:
        job = _job(dash, session, job_id)
        if job is None:
            return not_found(dash, session)
        status = finished.job.state.public_status
        notice = f"The job had already finished ({status}); nothing was cancelled."
        return dash.pages.render(
            "job.html.j2", 409, session=session, notice=notice, **_related(dash, session, job)
        )
    if cancelled is None:
        return not_found(dash, session)
    return RedirectResponse(f"/dashboard/jobs/{job_id}", status_code=303)


def _job(dash: Dashboard, session: Session, job_id: str) -> JobDetail | None:
    if not is_id(job_id, "job"):
        return None
    return dash.details.get(session.principal.visible, job_id)


def _rows(dash: Dashboard, session: Session, query: JobQuery) -> dict[str, Any]:
    found = query.job_filter(dash.system.clock.now_ms())
    try:
        page, has_more = dash.jobs.page(
            session.workspace, found, limit=PAGE_SIZE, after=query.after
        )
    except UnknownCursorError:
        # An "older" link whose job is gone and carried no time: start again.
        page, has_more = dash.jobs.page(session.workspace, found, limit=PAGE_SIZE, after=None)
    older = query.query_string(after=page[-1].id) if has_more and page else None
    return {"jobs": page, "older": older, "refresh": query.query_string(after=query.after)}


def _charts(dash: Dashboard, session: Session) -> dict[str, Any]:
    activity = dash.activity.last_hour(frozenset({session.workspace}), dash.system.clock.now_ms())
    times = {"start_ms": activity.start_ms, "bucket_ms": BUCKET_MS}
    return {
        "charts": [
            line_chart(
                "depth", "Jobs processing, per minute", activity.depth, activity.processing_now
            ),
            bar_chart(
                "throughput", "Completed per minute", activity.completed, **times, noun="completed"
            ),
            bar_chart("failures", "Failed per minute", activity.failed, **times, noun="failed"),
        ]
    }


def _related(dash: Dashboard, session: Session, job: JobDetail) -> dict[str, Any]:
    """The job, and what it made or works on: its artifact, its export and the
    export's download link."""
    visible = session.principal.visible
    artifact = export = download = None
    if job.type == ARTIFACT_CREATE and isinstance(job.payload.get("artifact_id"), str):
        artifact = dash.system.artifacts.get(visible, job.payload["artifact_id"])
    if job.type == EXPORT_RUN and isinstance(job.payload.get("export_id"), str):
        export = dash.system.exports.get(job.payload["export_id"], visible)
        if export is not None:
            artifact = dash.system.artifacts.get(visible, export.artifact_id)
            if export.status == COMPLETED:
                download = dash.links.describe(export)
    return {"job": job, "artifact": artifact, "export": export, "download": download}
