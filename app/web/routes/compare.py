"""Compare jobs of one model: overlaid loss curves and their parameters and final metrics side by side."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from app.db import session_scope
from app.errors import Unprocessable
from app.schemas import MODEL_KEYS
from app.services import jobs as service
from app.web import views
from app.web.auth import WebSession
from app.web.pages import HtmlRoute, current_session, render, settings_of
from app.web.routes.jobs import dataset_names

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)
MAX_COMPARED = 8


def _candidates(db: Any, owner: str, model: str) -> list[Any]:
    """Train jobs that trained `model` (alone or within "all"), newest first."""
    rows: list[Any] = []
    for job_model in (model, "all"):
        found, _ = service.list_jobs(db, owner=owner, status=None, type_="train", model=job_model, limit=100, offset=0)
        rows.extend(found)
    return sorted(rows, key=lambda job: job.created_at, reverse=True)


@router.get("/compare")
def compare_page(
    request: Request,
    session: Annotated[WebSession, Depends(current_session)],
    model: Annotated[str | None, Query(max_length=50)] = None,
    job: Annotated[list[str] | None, Query(max_length=MAX_COMPARED)] = None,
) -> HTMLResponse:
    """Pick a model, then two or more of its jobs; shows curves overlaid and a table of params and metrics."""
    model = model or None
    if model is not None and model not in MODEL_KEYS:
        raise Unprocessable(f"model: choose one of {', '.join(MODEL_KEYS)}")
    chosen = list(dict.fromkeys(job or []))
    context: dict[str, Any] = {"model": model, "models": MODEL_KEYS, "chosen": chosen, "candidates": [],
                               "compared": [], "chart_json": "null", "param_names": [], "metric_names": []}  # fmt: skip
    if model is None:
        return render(request, "compare.html", context, session=session)
    with session_scope(settings_of(request).database_url, read_only=True) as db:
        names = dataset_names(db, session.owner)
        context["candidates"] = [views.job_row(j, names) for j in _candidates(db, session.owner, model)]
        compared: list[dict[str, Any]] = []
        for job_id in chosen:
            found = service.get_job(db, owner=session.owner, job_id=job_id)  # 404 page for another owner's
            rows = views.metrics_by_model(service.job_metrics(db, owner=session.owner, job_id=job_id)).get(model, [])
            compared.append({"row": views.job_row(found, names), "params": found.params or {}, "rows": rows,
                             "final": views.final_metrics(rows), "best": views.best_epoch(rows)})  # fmt: skip
    context["compared"] = compared
    context["param_names"] = sorted({name for c in compared for name in c["params"]})
    context["metric_names"] = [
        m for m in views.metric_columns([r for c in compared for r in c["rows"]]) if m != "epoch"
    ]
    chart = {"model": model, "loss": views.model_loss(model),
             "jobs": [{"id": c["row"]["short_id"], "rows": c["rows"]} for c in compared]}  # fmt: skip
    context["chart_json"] = json.dumps(chart, default=str).replace("</", "<\\/")
    return render(request, "compare.html", context, session=session)
