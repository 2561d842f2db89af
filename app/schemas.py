"""Request and response bodies. Inputs forbid unknown fields, so clients cannot set owner, status or ids."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ml.models import MODEL_KEYS

ModelName = Literal[
    "emotion_recognizer", "melody_transformer", "harmony_predictor", "dynamics_engine", "groove_predictor", "all"
]
assert set(ModelName.__args__) == {*MODEL_KEYS, "all"}  # type: ignore[attr-defined]


class Input(BaseModel):
    """Base of request bodies: unknown fields are an error."""

    model_config = ConfigDict(extra="forbid")


class DatasetCreate(Input):
    """Register a folder on the server."""

    name: str = Field(min_length=1, max_length=200, examples=["deam"])
    path: str = Field(min_length=1, max_length=4096, examples=["/srv/datasets/DEAM"])
    format: str | None = Field(default=None, max_length=50, examples=["deam"], description="detected when omitted")


class DatasetPublic(BaseModel):
    """A registered data set with its validation report."""

    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    format: str
    path: str
    source: str
    usable: int
    report: dict[str, Any]
    created_at: datetime


class DatasetsPublic(BaseModel):
    """A page of data sets."""

    data: list[DatasetPublic]
    count: int


class JobCreate(Input):
    """Submit a training or evaluation job."""

    type: Literal["train", "evaluate"] = Field(examples=["train"])
    model: ModelName = Field(examples=["all"])
    dataset_id: str | None = Field(default=None, max_length=32, examples=[None])
    synthetic: bool = Field(default=False, examples=[True])
    source_job_id: str | None = Field(
        default=None, max_length=32, description="evaluate jobs: the finished train job whose models to evaluate"
    )
    params: dict[str, Any] = Field(
        default_factory=dict,
        examples=[{"epochs": 20, "batch_size": 64, "lr": 0.001, "val_split": 0.2}],
        description="the CLI's options in snake_case: epochs, batch_size, lr, weight_decay, val_split, "
        "early_stopping_patience, min_delta, checkpoint_every, seed, device, normalize, synthetic_samples, "
        "architecture, augmentation",
    )
    queue: Literal["cpu", "gpu"] = Field(default="cpu", examples=["cpu"])


class Progress(BaseModel):
    """Where a running job is."""

    current_model: str | None
    epoch: int | None
    total_epochs: int | None
    fraction: float
    eta_seconds: float | None


class JobPublic(BaseModel):
    """A job as clients see it."""

    id: str
    type: str
    model: str
    dataset_id: str | None
    synthetic: bool
    source_job_id: str | None
    params: dict[str, Any]
    queue: str
    status: str
    attempt: int
    cancel_requested: bool
    progress: Progress
    latest_metrics: dict[str, Any] | None
    result: dict[str, Any] | None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime


class JobsPublic(BaseModel):
    """A page of jobs."""

    data: list[JobPublic]
    count: int


class MetricPublic(BaseModel):
    """One epoch of one model."""

    model: str
    epoch: int
    values: dict[str, Any]


class ArtifactPublic(BaseModel):
    """A downloadable file of a job."""

    model_config = ConfigDict(from_attributes=True)
    name: str
    kind: str
    size: int
    sha256: str
    content_type: str
    created_at: datetime


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
        started_at=job.started_at,
        finished_at=job.finished_at,
        updated_at=job.updated_at,
    )
