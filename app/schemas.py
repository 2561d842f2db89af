"""Request and response bodies. Inputs forbid unknown fields, so clients cannot set owner, status or ids."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer, model_validator

from app.params import TrainParams, given

# The keys of ml.models.MODEL_KEYS, repeated here because ml.models imports torch (a test keeps them equal).
MODEL_KEYS = ("emotion_recognizer", "melody_transformer", "harmony_predictor", "dynamics_engine", "groove_predictor")
ModelName = Literal[
    "emotion_recognizer", "melody_transformer", "harmony_predictor", "dynamics_engine", "groove_predictor", "all"
]
ModelKey = Literal[
    "emotion_recognizer", "melody_transformer", "harmony_predictor", "dynamics_engine", "groove_predictor"
]
JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
# validate: a data set's scan, made by its registration; sweep: one batch of a sweep's trials, made by the sweep
JobType = Literal["train", "evaluate", "validate", "sweep"]
SubmittedJobType = Literal["train", "evaluate"]
QueueName = Literal["cpu", "gpu", "data"]  # data: validations, so a long training never holds a registration
SubmitQueue = Literal["cpu", "gpu"]
DatasetStatus = Literal["validating", "ready", "invalid"]

_ID = "3f0c2d8e9b6a4f1e8d7c6b5a49382716"
_WHEN = "2026-11-24T21:07:17.883566Z"
_SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
_REPORT = {
    "format": "audio-labels",
    "root": "/srv/datasets/mood",
    "models": ["emotion_recognizer"],
    "files_found": 120,
    "usable": 118,
    "skipped": [{"path": "broken.wav", "reason": "unreadable audio"}],
    "duration_seconds": {"total": 3540.0, "min": 3.0, "max": 45.0},
    "label_ranges": {"valence": [-0.9, 0.8], "arousal": [-0.7, 0.95]},
    "splits": {},
    "warnings": [],
}


class Input(BaseModel):
    """Base of request bodies: unknown fields are an error, and no value is coerced ("yes" is not a bool)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class DatasetCreate(Input):
    """Register a folder on the server."""

    name: str = Field(min_length=1, max_length=200, examples=["mood-clips"])
    path: str = Field(
        min_length=1,
        max_length=4096,
        examples=["/srv/datasets/mood"],
        description=(
            "absolute folder on the server, inside one of MLTRAIN_DATASET_ROOTS, or an s3:// prefix under "
            "MLTRAIN_DATASET_URL_ROOTS (then format is required)"
        ),
    )
    format: str | None = Field(
        default=None, max_length=50, examples=["audio-labels"], description="detected when omitted"
    )


class ValidationProgress(BaseModel):
    """How far the background scan of a data set is."""

    job_id: str = Field(examples=[_ID], description="the validate job (GET /jobs/{id} and its events work too)")
    files_total: int | None = Field(examples=[1276], description="null until the files are listed")
    files_seen: int = Field(examples=[480])
    usable: int = Field(examples=[478])
    skipped: int = Field(examples=[2])
    fraction: float = Field(examples=[0.38])


class DatasetPublic(BaseModel):
    """A registered data set: its status, the scan's progress while validating, then its validation report."""

    id: str = Field(examples=[_ID])
    name: str = Field(examples=["mood-clips"])
    format: str = Field(examples=["audio-labels"])
    path: str = Field(examples=["/srv/datasets/mood"], description="resolved absolute folder")
    source: Literal["folder", "upload"] = Field(examples=["folder"])
    status: DatasetStatus = Field(
        examples=["ready"], description="validating -> ready (jobs may use it) | invalid (see error)"
    )
    error: str | None = Field(default=None, examples=[None], description="why the data set is invalid")
    usable: int = Field(examples=[118], description="files the format can use (0 while validating)")
    validation: ValidationProgress | None = Field(
        default=None,
        examples=[
            {"job_id": _ID, "files_total": 1276, "files_seen": 1276, "usable": 1274, "skipped": 2, "fraction": 1}
        ],
        description="the background scan; its progress while the status is validating",
    )
    report: dict[str, Any] | None = Field(
        examples=[_REPORT], description="files found, usable, skipped with reasons; null while validating"
    )
    created_at: datetime = Field(examples=[_WHEN])


class DatasetsPublic(BaseModel):
    """A page of data sets."""

    data: list[DatasetPublic] = Field(examples=[[]])
    count: int = Field(examples=[1], description="total matching, not only this page")


# The data source, stated in the schema as the server enforces it: a data set id, or synthetic: true, never both.
DATA_SOURCE: dict[str, Any] = {
    "oneOf": [
        {"required": ["dataset_id"], "properties": {"dataset_id": {"type": "string"}, "synthetic": {"const": False}}},
        {"required": ["synthetic"], "properties": {"synthetic": {"const": True}, "dataset_id": {"type": "null"}}},
    ]
}


class JobCreate(Input):
    """Submit a training or evaluation job."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra=DATA_SOURCE)
    type: SubmittedJobType = Field(examples=["train"])
    model: ModelName = Field(examples=["all"], description="one model key, or all five")
    dataset_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=32,
        examples=[_ID],
        description="a registered data set (or synthetic: true)",
    )
    synthetic: bool = Field(default=False, examples=[True], description="train on generated data instead")
    source_job_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=32,
        examples=[_ID],
        description="evaluate jobs: the succeeded train job whose models to evaluate",
    )
    params: TrainParams = Field(  # type: ignore[valid-type]
        default_factory=TrainParams,
        examples=[{"epochs": 20, "batch_size": 64, "lr": 0.001, "val_split": 0.2}],
        description="the CLI's options in snake_case (ml.config.TrainConfig), each checked against its range",
    )
    queue: SubmitQueue = Field(default="cpu", examples=["cpu"], description="which workers take it")

    @model_validator(mode="after")
    def _one_data_source(self) -> JobCreate:
        if (self.dataset_id is not None) == self.synthetic:
            raise ValueError("give exactly one of dataset_id or synthetic: true")
        return self

    @field_serializer("params")
    def _params_as_given(self, params: BaseModel) -> dict[str, Any]:
        """Only what the client set: stored on the job and hashed for Idempotency-Key, as before the schema."""
        return given(params)


SweepStrategy = Literal["grid", "random", "tpe"]
SweepStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
_SPACE = {"lr": {"low": 1e-4, "high": 3e-2, "log": True}, "weight_decay": {"grid": [0.0, 0.01]}}


class SweepCreate(Input):
    """Submit a hyperparameter sweep of one model (docs/sweeps.md)."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra=DATA_SOURCE)
    model: ModelKey = Field(examples=["harmony_predictor"], description="one model key (not all)")
    dataset_id: str | None = Field(default=None, min_length=1, max_length=32, examples=[_ID])
    synthetic: bool = Field(default=False, examples=[True])
    params: TrainParams = Field(  # type: ignore[valid-type]
        default_factory=TrainParams,
        examples=[{"epochs": 20, "batch_size": 64}],
        description="the fixed options of every trial (as a train job's params); the space overrides its names",
    )
    space: dict[str, Any] = Field(
        examples=[_SPACE],
        description='{name: {"grid": [...]} | {"choices": [...]} | {"low": a, "high": b, "log": false}}',
    )
    strategy: SweepStrategy = Field(default="tpe", examples=["tpe"])
    trials: int | None = Field(default=None, ge=1, le=10_000, examples=[16], description="grid: default every point")
    objective: Literal["val_loss", "test_loss"] = Field(default="val_loss", examples=["val_loss"])
    seed: int = Field(default=0, ge=0, le=2**31 - 1, examples=[0], description="the sampler's seed")
    pruner: Literal["none", "median", "halving"] = Field(default="median", examples=["median"])
    batch_size: int | None = Field(
        default=None, ge=1, le=32, examples=[4], description="trials per batch job (default as docs/sweeps.md)"
    )

    @model_validator(mode="after")
    def _one_data_source(self) -> SweepCreate:
        if (self.dataset_id is not None) == self.synthetic:
            raise ValueError("give exactly one of dataset_id or synthetic: true")
        return self

    @field_serializer("params")
    def _params_as_given(self, params: BaseModel) -> dict[str, Any]:
        """Only what the client set, as for jobs."""
        return given(params)


class TrialPublic(BaseModel):
    """One trial of a sweep."""

    number: int = Field(examples=[3])
    batch: int = Field(examples=[0], description="the batch job that trains it")
    job_id: str = Field(examples=[_ID])
    params: dict[str, Any] = Field(examples=[{"lr": 0.003}])
    status: Literal["running", "complete", "pruned", "failed"] = Field(examples=["complete"])
    objective: float | None = Field(examples=[0.021])
    epochs: int = Field(examples=[20], description="epochs trained (live while running)")
    best_epoch: int = Field(examples=[17])
    best_val_loss: float | None = Field(examples=[0.021])
    stop_reason: str | None = Field(examples=["completed"])


class BatchPublic(BaseModel):
    """One batch job of a sweep."""

    index: int = Field(examples=[0])
    job_id: str = Field(examples=[_ID])
    status: JobStatus = Field(examples=["succeeded"])
    attempt: int = Field(examples=[1])
    trials: list[int] = Field(examples=[[0, 1, 2, 3]])


class SweepPublic(BaseModel):
    """A sweep: settings, status, its trials and batches, the best trial so far and its train job."""

    id: str = Field(examples=[_ID])
    model: str = Field(examples=["harmony_predictor"])
    dataset_id: str | None = Field(examples=[None])
    synthetic: bool = Field(examples=[True])
    params: dict[str, Any] = Field(examples=[{"epochs": 20}])
    space: dict[str, Any] = Field(examples=[_SPACE])
    strategy: SweepStrategy = Field(examples=["tpe"])
    trial_count: int = Field(examples=[16], description="trials the sweep runs (the request's trials)")
    batch_size: int = Field(examples=[4])
    objective: str = Field(examples=["val_loss"])
    seed: int = Field(examples=[0])
    pruner: str = Field(examples=["median"])
    status: SweepStatus = Field(examples=["running"])
    cancel_requested: bool = Field(examples=[False])
    error: str | None = Field(examples=[None])
    best: TrialPublic | None = Field(examples=[None], description="the complete trial with the lowest objective")
    best_job_id: str | None = Field(
        examples=[None], description="the best trial as a train job (exports, evaluation, bundle) once the sweep ends"
    )
    trials: list[TrialPublic] = Field(examples=[[]], description="every trial asked so far, by number")
    batches: list[BatchPublic] = Field(examples=[[]])
    created_at: datetime = Field(examples=[_WHEN])
    started_at: datetime | None = Field(examples=[None])
    finished_at: datetime | None = Field(examples=[None])
    updated_at: datetime = Field(examples=[_WHEN])


class SweepsPublic(BaseModel):
    """A page of sweeps (without their trial and batch lists)."""

    data: list[SweepPublic] = Field(examples=[[]])
    count: int = Field(examples=[1], description="total, not only this page")


class Progress(BaseModel):
    """Where a running job is."""

    current_model: str | None = Field(examples=["melody_transformer"])
    epoch: int | None = Field(examples=[7])
    total_epochs: int | None = Field(examples=[20])
    fraction: float = Field(examples=[0.27], description="0..1 over every model of the job")
    eta_seconds: float | None = Field(examples=[95.0])


class JobPublic(BaseModel):
    """A job as clients see it."""

    id: str = Field(examples=[_ID])
    type: JobType = Field(examples=["train"])
    model: str = Field(examples=["all"])
    dataset_id: str | None = Field(examples=[None])
    synthetic: bool = Field(examples=[True])
    source_job_id: str | None = Field(examples=[None])
    params: dict[str, Any] = Field(examples=[{"epochs": 20}])
    queue: QueueName = Field(examples=["cpu"])
    status: JobStatus = Field(examples=["running"])
    attempt: int = Field(examples=[1], description="0 until a worker claims it; grows on each retry")
    cancel_requested: bool = Field(examples=[False])
    progress: Progress
    latest_metrics: dict[str, Any] | None = Field(examples=[{"epoch": 7, "train_loss": 0.021, "val_loss": 0.024}])
    result: dict[str, Any] | None = Field(examples=[None], description="the pipeline summary once succeeded")
    error: str | None = Field(examples=[None])
    created_at: datetime = Field(examples=[_WHEN])
    enqueued_at: datetime | None = Field(examples=[_WHEN], description="null until the broker accepted it")
    started_at: datetime | None = Field(examples=[_WHEN])
    finished_at: datetime | None = Field(examples=[None])
    updated_at: datetime = Field(examples=[_WHEN])


class JobsPublic(BaseModel):
    """A page of jobs."""

    data: list[JobPublic] = Field(examples=[[]])
    count: int = Field(examples=[1], description="total matching, not only this page")


class MetricPublic(BaseModel):
    """One epoch of one model."""

    model: str = Field(examples=["groove_predictor"])
    epoch: int = Field(examples=[3])
    values: dict[str, Any] = Field(examples=[{"train_loss": 0.031, "val_loss": 0.035, "lr": 0.001}])


class ArtifactPublic(BaseModel):
    """A downloadable file of a job."""

    model_config = ConfigDict(from_attributes=True)
    name: str = Field(examples=["groove_predictor.json"])
    kind: Literal[
        "model_json",
        "golden_vectors",
        "cpp_header",
        "checkpoint",
        "metrics",
        "evaluation",
        "export_report",
        "plot",
        "bundle",
        "other",
    ] = Field(examples=["model_json"])
    size: int = Field(examples=[45213])
    sha256: str = Field(examples=[_SHA])
    content_type: str = Field(examples=["application/json"])
    created_at: datetime = Field(examples=[_WHEN])


def job_public(job: Any) -> JobPublic:
    """Map a Job row to its public form."""
    return JobPublic(
        id=job.id,
        type=job.type,
        model=job.model,
        dataset_id=job.dataset_id,
        synthetic=job.synthetic,
        source_job_id=job.source_job_id,
        params=job.params,
        queue=job.queue,
        status=job.status,
        attempt=job.attempt,
        cancel_requested=job.cancel_requested,
        progress=Progress(
            current_model=job.current_model,
            epoch=job.epoch,
            total_epochs=job.total_epochs,
            fraction=job.progress or 0.0,
            eta_seconds=job.eta_seconds,
        ),
        latest_metrics=job.latest_metrics,
        result=job.result,
        error=job.error,
        created_at=job.created_at,
        enqueued_at=job.enqueued_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        updated_at=job.updated_at,
    )


def trial_public(trial: Any, epochs: dict[int, int]) -> TrialPublic:
    """Map a SweepTrial row to its public form (a running trial's epochs from its live metrics)."""
    return TrialPublic(
        number=trial.number,
        batch=trial.batch,
        job_id=trial.job_id,
        params=trial.params,
        status=trial.status,
        objective=trial.objective,
        epochs=max(trial.epochs or 0, epochs.get(trial.number, 0)) if trial.status == "running" else trial.epochs,
        best_epoch=trial.best_epoch,
        best_val_loss=trial.best_val_loss,
        stop_reason=trial.stop_reason,
    )


def sweep_public(sweep: Any, detail: Any = None, best: Any = None) -> SweepPublic:
    """Map a Sweep row and either an app.services.sweeps.SweepDetail (one sweep) or its best trial row (lists)."""
    trials = [trial_public(t, detail.epochs) for t in detail.trials] if detail else []
    numbers: dict[int, list[int]] = {}
    for trial in trials:
        numbers.setdefault(trial.batch, []).append(trial.number)
    batches = [
        BatchPublic(index=b.sweep_batch, job_id=b.id, status=b.status, attempt=b.attempt,
                    trials=numbers.get(b.sweep_batch, []))
        for b in (detail.batches if detail else [])
    ]  # fmt: skip
    complete = [t for t in trials if t.status == "complete" and t.objective is not None]
    best_public = min(complete, key=lambda t: (t.objective, t.number)) if complete else None
    if best_public is None and best is not None:
        best_public = trial_public(best, {})
    return SweepPublic(
        id=sweep.id,
        model=sweep.model,
        dataset_id=sweep.dataset_id,
        synthetic=sweep.synthetic,
        params=sweep.params,
        space=sweep.space,
        strategy=sweep.strategy,
        trial_count=sweep.trials,
        batch_size=sweep.batch_size,
        objective=sweep.objective,
        seed=sweep.seed,
        pruner=sweep.pruner,
        status=sweep.status,
        cancel_requested=sweep.cancel_requested,
        error=sweep.error,
        best=best_public,
        best_job_id=sweep.best_job_id,
        trials=trials,
        batches=batches,
        created_at=sweep.created_at,
        started_at=sweep.started_at,
        finished_at=sweep.finished_at,
        updated_at=sweep.updated_at,
    )


def dataset_public(dataset: Any, state: Any) -> DatasetPublic:
    """Map a Dataset row and its DatasetState (app.services.datasets.dataset_state) to its public form."""
    job = state.job
    validation = None
    if job is not None:
        seen = job.latest_metrics or {}
        validation = ValidationProgress(
            job_id=job.id,
            files_total=seen.get("files_total"),
            files_seen=int(seen.get("files_seen", 0)),
            usable=int(seen.get("usable", 0)),
            skipped=int(seen.get("skipped", 0)),
            fraction=1.0 if job.status == "succeeded" else float(job.progress or 0.0),
        )
    return DatasetPublic(
        id=dataset.id,
        name=dataset.name,
        format=dataset.format,
        path=dataset.path,
        source=dataset.source,
        status=state.status,
        error=state.error,
        usable=dataset.usable,
        validation=validation,
        report=dataset.report,
        created_at=dataset.created_at,
    )


class ErrorPublic(BaseModel):
    """Every error response: one message that says what to fix."""

    detail: str = Field(examples=["params: epochs must be an integer in 1..10000, got -1"])


# Documented on every API route, so clients (and schema checkers) see the real error shape, including 422.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorPublic, "description": text}
    for code, text in (
        (400, "a malformed HTTP request, refused by the server before any route (bad bodies are 422)"),
        (401, "missing, unknown or revoked bearer token"),
        (403, "not allowed (e.g. a folder outside the allowed roots)"),
        (404, "no such object for this owner"),
        (409, "conflicts with the object's state"),
        (413, "upload too large"),
        (422, "invalid request: the message names the field"),
        (429, "too many unfinished jobs for this owner"),
    )
}
