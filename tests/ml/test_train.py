from pathlib import Path

import numpy as np
import pytest
import torch

from ml.checkpoint import load_checkpoint
from ml.config import TrainConfig
from ml.dataset import ArrayDataset
from ml.errors import CheckpointError, ConfigError
from ml.models import MODEL_KEYS
from ml.synthetic import make_synthetic
from ml.train import TrainCallbacks, train_model
from ml.train.early_stopping import EarlyStopping

SMALL = {"synthetic_samples": 256, "batch_size": 32}


@pytest.mark.parametrize("key", MODEL_KEYS)
def test_loss_falls_on_synthetic_data(key: str, tmp_path: Path) -> None:
    config = TrainConfig(epochs=6, early_stopping_patience=0, **SMALL)
    result = train_model(key, make_synthetic(key, 512, seed=3), config, tmp_path)
    losses = [row["train_loss"] for row in result.history]
    assert losses[-1] < 0.7 * losses[0]
    assert result.best_val_loss < result.history[0]["val_loss"]
    assert result.epochs_run == 6 and result.stop_reason == "completed"


def test_synthetic_data_is_deterministic_and_in_range() -> None:
    for key in MODEL_KEYS:
        a, b = make_synthetic(key, 64, seed=1), make_synthetic(key, 64, seed=1)
        np.testing.assert_array_equal(a.inputs, b.inputs)
        np.testing.assert_array_equal(a.targets, b.targets)
        assert not np.array_equal(a.inputs, make_synthetic(key, 64, seed=2).inputs)
    assert make_synthetic("melody_transformer", 64, 0).targets.min() >= 0
    np.testing.assert_allclose(make_synthetic("harmony_predictor", 64, 0).targets.sum(axis=1), 1, rtol=1e-5)
    assert np.abs(make_synthetic("groove_predictor", 64, 0).targets).max() < 1


def _weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


class StopAfterEpoch(TrainCallbacks):
    """Stops the run once `epoch` epochs are complete, as a crash after that epoch's checkpoint would."""

    def __init__(self, epoch: int) -> None:
        self.epoch, self.done = epoch, 0

    def on_epoch_end(self, model_key: str, row: dict) -> None:
        self.done = row["epoch"]

    def should_stop(self) -> bool:
        return self.done >= self.epoch


@pytest.mark.parametrize("schedule", ["cosine", "plateau"])
def test_resume_ends_where_an_uninterrupted_run_ends(schedule: str, tmp_path: Path) -> None:
    data = make_synthetic("emotion_recognizer", 192, seed=0)
    arch = {"architecture": {"emotion_recognizer": {"fc1": 32, "fc2": 16, "lstm": 8}}}
    base = {"checkpoint_every": 1, "early_stopping_patience": 0, "batch_size": 32, **arch}
    # plateau_patience 0 and a tight clip make the plateau halvings and the clipping part of what must match
    config = TrainConfig(epochs=6, lr_schedule=schedule, plateau_patience=0, grad_clip=0.05, **base)
    straight = train_model("emotion_recognizer", data, config, tmp_path / "a")

    stopped = train_model("emotion_recognizer", data, config, tmp_path / "b", callbacks=StopAfterEpoch(3))
    assert stopped.epochs_run == 3
    resumed = train_model("emotion_recognizer", data, config, tmp_path / "b", resume=True)
    assert [row["lr"] for row in resumed.history] == [row["lr"] for row in straight.history]

    assert resumed.epochs_run == straight.epochs_run == 6
    assert [row["epoch"] for row in resumed.history] == [1, 2, 3, 4, 5, 6]
    for name, value in _weights(straight.model).items():
        torch.testing.assert_close(_weights(resumed.model)[name], value, atol=1e-6, rtol=1e-6)
    last_a = load_checkpoint(tmp_path / "a" / "emotion_recognizer.last.pt")
    last_b = load_checkpoint(tmp_path / "b" / "emotion_recognizer.last.pt")
    for name, value in last_a["model_state"].items():
        torch.testing.assert_close(last_b["model_state"][name], value, atol=1e-6, rtol=1e-6)
    np.testing.assert_allclose(
        [r["val_loss"] for r in resumed.history], [r["val_loss"] for r in straight.history], rtol=1e-5
    )


def test_resume_refuses_another_architecture(tmp_path: Path) -> None:
    data = make_synthetic("dynamics_engine", 64, seed=0)
    train_model("dynamics_engine", data, TrainConfig(epochs=1), tmp_path)
    other = TrainConfig(epochs=2, architecture={"dynamics_engine": {"fc1": 8}})
    with pytest.raises(CheckpointError, match="architecture"):
        train_model("dynamics_engine", data, other, tmp_path, resume=True)


def test_early_stopping_restores_the_best_weights(tmp_path: Path) -> None:
    # Validation targets contradict training targets: the model gets better on train, worse on validation.
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, size=(200, 32)).astype(np.float32)
    y = np.full((200, 16), 0.9, dtype=np.float32)
    split = np.array(["train"] * 150 + ["validation"] * 50)
    y[150:] = 0.1
    data = ArrayDataset("dynamics_engine", x, y, split=split)
    config = TrainConfig(epochs=40, early_stopping_patience=3, min_delta=0.0, lr=1e-2, batch_size=50)
    result = train_model("dynamics_engine", data, config, tmp_path)
    assert result.stop_reason == "early_stopping"
    assert result.epochs_run < 40
    assert result.best_epoch == int(np.argmin([r["val_loss"] for r in result.history])) + 1
    # The returned model is the best epoch's, not the last one's.
    best = load_checkpoint(tmp_path / "dynamics_engine.best.pt")
    for name, value in best["model_state"].items():
        torch.testing.assert_close(result.model.state_dict()[name], value)
    last = load_checkpoint(tmp_path / "dynamics_engine.last.pt")
    assert last["stop_reason"] == "early_stopping" and last["epoch"] == result.epochs_run
    assert last["epoch"] > best["epoch"]


def test_early_stopping_object() -> None:
    stopper = EarlyStopping(patience=2, min_delta=0.1)
    assert stopper.update(1, 1.0)
    assert stopper.update(2, 0.95)  # a new best, but too small to reset patience
    assert not stopper.update(3, 0.97)
    assert stopper.stop_reason == "early_stopping" and stopper.best_epoch == 2
    nan = EarlyStopping(patience=5, min_delta=0)
    nan.update(1, float("nan"))
    assert nan.stop_reason == "non_finite_loss"


def test_non_finite_loss_stops_training(tmp_path: Path) -> None:
    data = make_synthetic("dynamics_engine", 64, seed=0)
    x = data.inputs.copy()
    x[:8] = np.float32(3e38)  # finite inputs whose products overflow: +inf and -inf partial sums give NaN
    x[:8, ::2] = np.float32(-3e38)
    huge = ArrayDataset("dynamics_engine", x, data.targets)
    result = train_model("dynamics_engine", huge, TrainConfig(epochs=5, normalize="none", batch_size=64), tmp_path)
    assert result.stop_reason == "non_finite_loss"
    assert result.epochs_run == 1
    assert load_checkpoint(tmp_path / "dynamics_engine.last.pt")["stop_reason"] == "non_finite_loss"


class CancelAfter(TrainCallbacks):
    def __init__(self, polls: int) -> None:
        self.polls = polls
        self.epochs: list[int] = []

    def on_epoch_end(self, model_key: str, row: dict) -> None:
        self.epochs.append(row["epoch"])

    def should_stop(self) -> bool:
        self.polls -= 1
        return self.polls < 0


def test_cancel_stops_between_batches_and_keeps_a_checkpoint(tmp_path: Path) -> None:
    data = make_synthetic("harmony_predictor", 256, seed=0)
    callbacks = CancelAfter(polls=20)  # 204 training rows = 7 batches per epoch: cancelled during epoch 3
    config = TrainConfig(epochs=50, batch_size=32, checkpoint_every=1, val_split=0.1, test_split=0.1)
    result = train_model("harmony_predictor", data, config, tmp_path, callbacks=callbacks)
    assert result.stop_reason == "cancelled"
    assert result.epochs_run == 2 and callbacks.epochs == [1, 2]
    assert load_checkpoint(tmp_path / "harmony_predictor.last.pt")["epoch"] == 2


class Recorder(TrainCallbacks):
    """Records the hook order: flushes must come before the checkpoints after them; resumes get the history."""

    def __init__(self, stop_polls: int = -1) -> None:
        self.events: list[tuple[str, int]] = []
        self.polls = stop_polls
        self.resumed: list[int] = []

    def on_epoch_end(self, model_key: str, row: dict) -> None:
        self.events.append(("epoch", row["epoch"]))

    def before_checkpoint(self, model_key: str, epoch: int) -> None:
        self.events.append(("flush", epoch))

    def on_checkpoint(self, model_key: str, path: Path, epoch: int) -> None:
        self.events.append(("checkpoint", epoch))

    def on_resume(self, model_key: str, history: list) -> None:
        self.resumed = [row["epoch"] for row in history]

    def should_stop(self) -> bool:
        self.polls -= 1
        return self.polls == 0


def test_a_stop_mid_epoch_saves_the_last_complete_epoch_and_resume_is_exact(tmp_path: Path) -> None:
    data = make_synthetic("harmony_predictor", 256, seed=0)
    # Sparse checkpoints (every 10 epochs): the stop during epoch 3 must still leave epoch 2 on disk.
    config = TrainConfig(
        epochs=5, batch_size=32, checkpoint_every=10, early_stopping_patience=0, val_split=0.1, test_split=0.1
    )
    straight = train_model("harmony_predictor", data, config, tmp_path / "a")
    stopper = Recorder(stop_polls=20)  # 7 batches per epoch: poll 20 is inside epoch 3
    stopped = train_model("harmony_predictor", data, config, tmp_path / "b", callbacks=stopper)
    assert stopped.stop_reason == "cancelled"
    assert stopper.events == [("epoch", 1), ("epoch", 2), ("flush", 2), ("checkpoint", 2)]
    assert load_checkpoint(tmp_path / "b" / "harmony_predictor.last.pt")["epoch"] == 2
    again = Recorder()
    resumed = train_model("harmony_predictor", data, config, tmp_path / "b", resume=True, callbacks=again)
    assert again.resumed == [1, 2]
    assert again.events[-2:] == [("flush", 5), ("checkpoint", 5)]
    for name, value in _weights(straight.model).items():
        torch.testing.assert_close(_weights(resumed.model)[name], value, atol=1e-6, rtol=1e-6)


def test_unavailable_device_is_a_clear_error(tmp_path: Path) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ConfigError, match="no CUDA GPU"):
        train_model("groove_predictor", make_synthetic("groove_predictor", 32, 0), TrainConfig(device="cuda"), tmp_path)


@pytest.mark.parametrize("key", ["emotion_recognizer", "dynamics_engine"])
def test_augmentation_touches_training_rows_only(key: str, tmp_path: Path) -> None:
    data = make_synthetic(key, 200, seed=0)
    aug = {"copies": 2, "mel_gain_db": 3.0, "mel_noise_std": 0.5, "transpose_semitones": 2, "tempo_scale": 0.1}
    result = train_model(key, data, TrainConfig(epochs=1, augmentation=aug), tmp_path)
    checkpoint = load_checkpoint(tmp_path / f"{key}.last.pt")
    assert checkpoint["data"]["train"] == 3 * len(result.split.train)  # original + 2 copies
    assert len(result.split.validation) == 40  # validation untouched
    plain = train_model(key, data, TrainConfig(epochs=1), tmp_path / "plain")
    assert plain.history[0]["val_loss"] != result.history[0]["val_loss"]


def test_augmented_rows_never_reach_validation() -> None:
    from ml.train.split import split_dataset

    base = make_synthetic("groove_predictor", 40, seed=0)
    groups = np.repeat(np.arange(20), 2)
    flags = np.tile([False, True], 20)  # every second row is an augmented copy of its group
    data = ArrayDataset("groove_predictor", base.inputs, base.targets, groups=groups, augmented=flags)
    split = split_dataset(data, 0.25, seed=1)
    assert not flags[split.validation].any() and not flags[split.test].any()
    assert set(groups[split.validation]).isdisjoint(set(groups[split.train]))
    assert flags[split.train].sum() == 11  # the augmented copies of the 11 training groups (5 validation, 4 test)
