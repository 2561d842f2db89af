"""The submit form: model, data (a data set or synthetic) and every job parameter, from the pydantic schemas."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.api.deps import Enqueue, get_enqueuer
from app.db import session_scope
from app.services import datasets as dataset_service
from app.web import forms
from app.web.auth import WebSession
from app.web.pages import HtmlRoute, checked_session, current_session, render, settings_of
from app.web.routes.datasets import shown
from app.web.routes.jobs import submit

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)


def _form_context(request: Request, owner: str, values: dict[str, str], errors: dict[str, str]) -> dict[str, Any]:
    settings = settings_of(request)
    with session_scope(settings.database_url, read_only=True) as db:
        rows, _ = dataset_service.list_datasets(db, owner=owner, limit=500, offset=0)
        datasets = shown(db, rows)
    training, augmentation = forms.param_fields(settings.max_epochs)
    return {
        "job_fields": forms.job_fields(),
        "training": training,
        "augmentation": augmentation,
        "datasets": [d for d in datasets if d["status"] == "ready"],
        "values": values,
        "errors": errors,
    }


@router.get("/submit")
def submit_form(request: Request, session: Annotated[WebSession, Depends(current_session)]) -> HTMLResponse:
    """The empty form, every field at its default; `?dataset=ID` preselects a data set."""
    values = {"data": request.query_params.get("dataset", "synthetic")}
    return render(request, "submit.html", _form_context(request, session.owner, values, {}), session=session)


@router.post("/submit")
async def submit_job(
    request: Request,
    session: Annotated[WebSession, Depends(checked_session)],
    enqueue: Annotated[Enqueue, Depends(get_enqueuer)],
) -> Response:
    """Validate the form (the same checks as POST /api/v1/jobs), queue the job and open its page."""
    form = await request.form()
    values = {key: str(value) for key, value in form.items() if isinstance(value, str)}
    try:
        body = forms.parse_job(values)
    except forms.FormErrors as exc:
        context = _form_context(request, session.owner, values, exc.errors)
        return render(request, "submit.html", context, session=session, status_code=422)
    job_id = submit(settings_of(request), enqueue, session.owner, body)
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)
