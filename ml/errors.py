"""User-facing errors of the ml package: each carries one line that says what to fix."""


class MltrainError(Exception):
    """Base of every error a user can cause; the CLI prints its message and exits non-zero."""

    exit_code = 2


class ConfigError(MltrainError):
    """A hyperparameter, model key or configuration file is invalid."""


class DataError(MltrainError):
    """A data set folder, file or label is missing or unusable."""


class CheckpointError(MltrainError):
    """A checkpoint is missing, corrupt or belongs to another model."""


class ExportError(MltrainError):
    """An export failed verification or a model JSON is not a valid RTNeural model."""
