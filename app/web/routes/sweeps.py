"""Sweep pages: the list, one sweep (trials table, parameter-vs-objective scatters, the best trial's job), cancel."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app import sweepstate
from app.db import session_scope
from app.schemas import sweep_public
from app.services import sweeps as service
from app.web import sweep_views
from app.web.auth import WebSession
from app.web.pages import HtmlRoute, checked_session, current_session, render, settings_of

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)
PAGE_SIZE = 25
SessionNeeded = Annotated[WebSession, Depends(current_session)]
CheckedSession = Annotated[WebSession, Depends(checked_session)]


@router.get("/sweeps")
def sweeps_page(
    request: Request, session: SessionNeeded, offset: Annotated[int, Query(ge=0, le=10**9)] = 0
) -> HTMLResponse:
    """Your sweeps, newest first, with the best objective so far."""
    with session_scope(settings_of(request).database_url, read_only=True) as db:
        rows, count = service.list_sweeps(db, owner=session.owner, status=None, limit=PAGE_SIZE, offset=offset)
        sweeps = [sweep_public(row, best=sweepstate.best_trial(db, row.id)) for row in rows]
    context = {"sweeps": sweeps, "count": count, "offset": offset, "page_size": PAGE_SIZE, "nav": "sweeps"}
    return render(request, "sweeps.html", context, session=session)


@router.get("/sweeps/{sweep_id}")
def sweep_page(request: Request, sweep_id: str, session: SessionNeeded) -> HTMLResponse:
    """One sweep: settings, batches, trials, a scatter per searched parameter and a link to the best trial's job."""
    with session_scope(settings_of(request).database_url, read_only=True) as db:
        detail = service.sweep_detail(db, owner=session.owner, sweep_id=sweep_id)
        sweep = sweep_public(detail.sweep, detail)
    context = {
        "sweep": sweep,
        "short_id": sweep.id[:8],
        "names": list(sweep.space),
        "rows": sweep_views.trial_rows(sweep),
        "scatters": sweep_views.scatters(sweep),
        "active": sweep.status in sweepstate.ACTIVE,
        "nav": "sweeps",
    }
    return render(request, "sweep.html", context, session=session)


@router.post("/sweeps/{sweep_id}/cancel")
def cancel(request: Request, sweep_id: str, session: CheckedSession) -> Response:
    """Cancel the sweep (queued batches at once, running ones at their next batch), then show it."""
    with session_scope(settings_of(request).database_url) as db:
        service.cancel_sweep(db, owner=session.owner, sweep_id=sweep_id)
    return RedirectResponse(f"/sweeps/{sweep_id}", status_code=303)
