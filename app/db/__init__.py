"""The shared database layer (used by the API and the workers; imports no torch)."""

from app.db.models import (
    ApiToken,
    Artifact,
    Base,
    Dataset,
    Job,
    JobMetric,
    Sweep,
    SweepJournalEntry,
    SweepTrial,
    utcnow,
)
from app.db.session import dispose_engines, get_engine, session_factory, session_scope

__all__ = [
    "ApiToken",
    "Artifact",
    "Base",
    "Dataset",
    "Job",
    "JobMetric",
    "Sweep",
    "SweepJournalEntry",
    "SweepTrial",
    "dispose_engines",
    "get_engine",
    "session_factory",
    "session_scope",
    "utcnow",
]
