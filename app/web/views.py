"""What the pages show, shaped from the service layer's rows: formatting filters and per-page view data.

Pure functions on rows and JSON (no database, no torch), so every page reads the same figures the API returns.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from ml.models.registry import MODELS

# Readable loss names; ml.train.plot keeps the same table for loss_curve.png (a test keeps them equal), but
# importing it here would import torch through ml.train.
LOSS_NAMES = {"mse": "MSE", "bce": "binary cross-entropy", "kl": "KL divergence"}
EXPORT_TOLERANCE = 1e-5  # ml.export.verify.DEFAULT_TOLERANCE: a larger parity error fails the run
ACTIVE = ("queued", "running")


def model_loss(model_key: str) -> str:
    """The readable name of a model's training loss."""
    spec = MODELS.get(model_key)
    return LOSS_NAMES.get(spec.loss, spec.loss) if spec else "loss"


def _now() -> datetime:
    return datetime.now(UTC)


def age(value: datetime | None, now: datetime | None = None) -> str:
    """'12 s ago', '3 min ago', '5 h ago', '2 d ago' ('' for None)."""
    if value is None:
        return ""
    seconds = max(((now or _now()) - value).total_seconds(), 0.0)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit} ago"
    return f"{int(seconds)} s ago"


def duration(seconds: float | None) -> str:
    """'45 s', '3 min 20 s', '2 h 5 min' ('' for None or not finite)."""
    if seconds is None or not math.isfinite(seconds):
        return ""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def human_size(size: int | None) -> str:
    """Bytes as '812 B', '45.2 kB', '3.1 MB'."""
    if size is None:
        return ""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def number(value: object, digits: int = 4) -> str:
    """A number with `digits` significant digits ('—' for missing, 'inf'/'nan' as such), anything else as text."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.{digits}g}" if math.isfinite(value) else str(value)
    return str(value)


def when(value: datetime | None) -> str:
    """A UTC timestamp to the second ('' for None)."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if value else ""


def job_row(job: Any, dataset_names: dict[str, str]) -> dict[str, Any]:
    """One line of the jobs table."""
    if job.synthetic:
        data = "synthetic"
    elif job.dataset_id:
        data = dataset_names.get(job.dataset_id, job.dataset_id[:8])
    else:
        data = "(deleted data set)"
    return {
        "id": job.id,
        "short_id": job.id[:8],
        "type": job.type,
        "model": job.model,
        "data": data,
        "status": job.status,
        "cancel_requested": job.cancel_requested,
        "percent": round(100 * (job.progress or 0.0)),
        "epoch": job.epoch,
        "total_epochs": job.total_epochs,
        "current_model": job.current_model,
        "eta": duration(job.eta_seconds) if job.status == "running" else "",
        "attempt": job.attempt,
        "max_attempts": job.max_attempts,
        "created_at": job.created_at,
    }


def status_history(job: Any) -> list[dict[str, Any]]:
    """The job's life from its timestamps: created, handed to the broker, started (attempt), finished."""
    steps = [{"at": job.created_at, "label": "queued", "note": "submitted"}]
    if job.enqueued_at:
        steps.append({"at": job.enqueued_at, "label": "queued", "note": "accepted by the broker"})
    if job.started_at:
        note = f"attempt {job.attempt} of {job.max_attempts}" if job.attempt else ""
        steps.append({"at": job.started_at, "label": "running", "note": note})
    if job.cancel_requested and job.status == "running":
        steps.append({"at": job.updated_at, "label": "running", "note": "cancel requested"})
    if job.finished_at:
        steps.append({"at": job.finished_at, "label": job.status, "note": job.error or ""})
    return steps


def metrics_by_model(rows: list[Any]) -> dict[str, list[dict[str, Any]]]:
    """Per-epoch rows grouped by model: {model: [{"epoch": n, **values}]}, in epoch order."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(row.model, []).append({**row.values, "epoch": row.epoch})
    for values in grouped.values():
        values.sort(key=lambda r: r["epoch"])
    return grouped


FIRST_COLUMNS = ("epoch", "train_loss", "val_loss")
LAST_COLUMNS = ("lr", "seconds")


def metric_columns(rows: list[dict[str, Any]]) -> list[str]:
    """The columns of a model's metrics table: epoch and losses first, lr and seconds last, the rest between."""
    seen: list[str] = []
    for row in rows:
        seen.extend(key for key in row if key not in seen)
    middle = [key for key in seen if key not in FIRST_COLUMNS + LAST_COLUMNS]
    return [k for k in FIRST_COLUMNS if k in seen] + middle + [k for k in LAST_COLUMNS if k in seen]


def best_epoch(rows: list[dict[str, Any]]) -> int | None:
    """The epoch with the lowest finite validation loss."""
    finite = [
        (r["val_loss"], r["epoch"])
        for r in rows
        if isinstance(r.get("val_loss"), int | float) and math.isfinite(r["val_loss"])
    ]
    return min(finite)[1] if finite else None


def headline(evaluation: dict[str, Any] | None) -> dict[str, Any] | None:
    """The evaluation figures a page shows, from a train job's headline or an evaluate job's full evaluation."""
    if not isinstance(evaluation, dict) or "test_loss" not in evaluation:
        return None
    baselines = evaluation.get("baseline_losses")
    if baselines is None:
        baselines = {name: b.get("loss") for name, b in (evaluation.get("baselines") or {}).items()}
    skill: Any = evaluation.get("skill")
    best: Any = evaluation.get("best_baseline")
    if isinstance(skill, dict):
        best = skill.get("best_baseline", best)
        skill = skill.get("value")
    return {
        "test_loss": evaluation.get("test_loss"),
        "baselines": baselines,
        "skill": skill,
        "best_baseline": best,
        "verdict": evaluation.get("verdict", ""),
        "samples": evaluation.get("test_samples", evaluation.get("samples")),
        "metrics": evaluation.get("metrics") or {},
        "useful": str(evaluation.get("verdict", "")).startswith("useful"),
    }


def model_summaries(job: Any) -> list[dict[str, Any]]:
    """Per model of a finished job: training outcome, export parity and the test evaluation beside baselines."""
    result = job.result if isinstance(job.result, dict) else {}
    out: list[dict[str, Any]] = []
    for key, summary in (result.get("models") or {}).items():
        parity = summary.get("export_max_abs_error")
        out.append(
            {
                "model": key,
                "loss": model_loss(key),
                "status": summary.get("status"),
                "reason": summary.get("reason"),
                "epochs_run": summary.get("epochs_run"),
                "best_epoch": summary.get("best_epoch"),
                "best_val_loss": summary.get("best_val_loss"),
                "stop_reason": summary.get("stop_reason"),
                "parity": parity,
                "parity_ok": None if parity is None else parity <= EXPORT_TOLERANCE,
                "evaluation": headline(summary.get("evaluation")),
            }
        )
    for key, evaluation in (result.get("evaluation") or {}).items():  # an evaluate job's result
        out.append({"model": key, "loss": model_loss(key), "status": "evaluated", "evaluation": headline(evaluation)})
    return out


def best_epochs(job: Any) -> dict[str, int]:
    """The best epoch per model as the training summary recorded it (finished train jobs only)."""
    result = job.result if isinstance(job.result, dict) else {}
    return {k: int(s["best_epoch"]) for k, s in (result.get("models") or {}).items() if s.get("best_epoch")}


def dataset_view(dataset: Any) -> dict[str, Any]:
    """A data set and its validation report; tolerates a report still being written (status `validating`)."""
    report = dataset.report if isinstance(dataset.report, dict) else {}
    status = getattr(dataset, "status", None) or report.get("status")
    if status is None:
        status = "ready" if (dataset.usable or 0) > 0 else "invalid"
    return {
        "id": dataset.id,
        "name": dataset.name,
        "format": dataset.format or report.get("format") or "",
        "path": dataset.path,
        "source": dataset.source,
        "usable": dataset.usable if dataset.usable is not None else report.get("usable"),
        "status": status,
        "created_at": dataset.created_at,
        "files_found": report.get("files_found"),
        "models": report.get("models") or [],
        "skipped": report.get("skipped") or [],
        "label_ranges": report.get("label_ranges") or {},
        "splits": report.get("splits") or {},
        "duration": report.get("duration_seconds") or {},
        "warnings": report.get("warnings") or [],
        "subfolder": report.get("subfolder") or "",
        "error": report.get("error") or getattr(dataset, "error", None),
    }


def final_metrics(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """min, max and last of every numeric metric over a model's epochs."""
    out: dict[str, dict[str, float]] = {}
    for column in metric_columns(rows):
        if column == "epoch":
            continue
        values = [r[column] for r in rows if isinstance(r.get(column), int | float) and not isinstance(r[column], bool)]
        if values:
            out[column] = {"min": min(values), "max": max(values), "last": values[-1]}
    return out
