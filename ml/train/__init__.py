"""Training: the model-agnostic trainer, losses, early stopping, callbacks and plots."""

from ml.train.callbacks import TrainCallbacks
from ml.train.trainer import TrainResult, checkpoint_paths, evaluate_arrays, train_model

__all__ = ["TrainCallbacks", "TrainResult", "checkpoint_paths", "evaluate_arrays", "train_model"]
