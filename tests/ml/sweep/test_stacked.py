"""Stacked trials: each trial of a stack ends where the same trial trained alone ends."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from ml.checkpoint import load_checkpoint
from ml.config import TrainConfig
from ml.models.layers import DenseSpec, LayerSpec, LayerStack, RecurrentSpec
from ml.sweep.adamw import StackedAdamW
from ml.sweep.plan import TrialPlan, group_into_stacks
from ml.sweep.stacked import StackCallbacks, train_stack
from ml.sweep.stacked_model import StackedNetwork
from ml.synthetic import make_synthetic
from ml.train.trainer import train_model

torch.set_num_threads(1)
SAMPLES = 384


def _config(**overrides: object) -> TrainConfig:
    values: dict[str, object] = {"epochs": 3, "batch_size": 32, "seed": 5, "synthetic_samples": SAMPLES}
    values.update(overrides)
    return TrainConfig(**values)  # type: ignore[arg-type]


def _weights(folder: Path, key: str) -> dict[str, torch.Tensor]:
    return load_checkpoint(folder / f"{key}.last.pt")["model_state"]


def _assert_close(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], rel: float = 1e-5) -> None:
    assert a.keys() == b.keys()
    for name in a:
        scale = float(a[name].abs().max()) + 1e-12
        assert float((a[name] - b[name]).abs().max()) <= rel * scale, name


@pytest.mark.parametrize("key", ["dynamics_engine", "melody_transformer"])
def test_stacked_trials_equal_solo_trials(tmp_path: Path, key: str) -> None:
    dataset = make_synthetic(key, SAMPLES, 1)
    configs = [
        _config(lr=1e-3, weight_decay=0.01),
        _config(lr=3e-3, weight_decay=0.1, grad_clip=0.2),
        _config(lr=2e-3, weight_decay=0.0, lr_schedule="constant", warmup_epochs=0.5, epochs=2),
    ]
    outcomes = train_stack(key, dataset, [TrialPlan(i, c, tmp_path / f"stack{i}") for i, c in enumerate(configs)])
    for i, config in enumerate(configs):
        solo = train_model(key, dataset, config, tmp_path / f"solo{i}")
        _assert_close(_weights(tmp_path / f"solo{i}", key), _weights(tmp_path / f"stack{i}", key))
        assert outcomes[i].epochs_run == solo.epochs_run == config.epochs
        assert outcomes[i].best_epoch == solo.best_epoch
        assert outcomes[i].best_val_loss == pytest.approx(solo.best_val_loss, rel=1e-5)
        stacked_history = load_checkpoint(tmp_path / f"stack{i}" / f"{key}.last.pt")["history"]
        for mine, theirs in zip(stacked_history, solo.history, strict=True):
            assert mine["val_loss"] == pytest.approx(theirs["val_loss"], rel=1e-5)
            assert mine["lr"] == theirs["lr"]


def test_trial_checkpoint_resumes_in_the_solo_trainer(tmp_path: Path) -> None:
    key = "groove_predictor"
    dataset = make_synthetic(key, SAMPLES, 1)
    # A constant schedule: extending the run by an epoch leaves the first two epochs' rates as they were.
    train_stack(key, dataset, [TrialPlan(0, _config(epochs=2, lr_schedule="constant"), tmp_path / "stack")])
    # The solo trainer takes the trial's checkpoint (optimizer state included) and continues to epoch 3.
    continued = train_model(key, dataset, _config(epochs=3, lr_schedule="constant"), tmp_path / "stack", resume=True)
    reference = train_model(key, dataset, _config(epochs=3, lr_schedule="constant"), tmp_path / "solo")
    assert continued.epochs_run == 3
    _assert_close(_weights(tmp_path / "solo", key), _weights(tmp_path / "stack", key))
    assert reference.best_epoch == continued.best_epoch


def test_per_trial_learning_rate_and_weight_decay_take_effect(tmp_path: Path) -> None:
    key = "dynamics_engine"
    dataset = make_synthetic(key, SAMPLES, 1)
    configs = [
        _config(lr=1e-3, weight_decay=0.0),
        _config(lr=1e-3, weight_decay=0.5),
        _config(lr=1e-2, weight_decay=0.0),
    ]
    train_stack(key, dataset, [TrialPlan(i, c, tmp_path / str(i)) for i, c in enumerate(configs)])
    plain, decayed, fast = (_weights(tmp_path / str(i), key) for i in range(3))
    initial = _initial_weights(key, 5)
    # Decay shrinks the weight matrices only; the biases of the two trials differ only through the weights.
    assert decayed["layers.fc1.weight"].norm() < plain["layers.fc1.weight"].norm()
    moved = {name: float((fast[name] - initial[name]).norm() / (plain[name] - initial[name]).norm()) for name in fast}
    assert min(moved.values()) > 2.0  # ten times the rate moves every parameter much further


def _initial_weights(key: str, seed: int) -> dict[str, torch.Tensor]:
    from ml.models import build_model

    torch.manual_seed(seed)
    return build_model(key).state_dict()


class _Recorder(StackCallbacks):
    def __init__(self, stop_after_epochs: int | None = None) -> None:
        self.rows: dict[int, list[dict[str, object]]] = {}
        self.stop_after = stop_after_epochs
        self.epochs_seen = 0

    def on_epoch_end(self, trial: int, row: dict[str, object]) -> None:
        self.rows.setdefault(trial, []).append(row)

    def should_stop(self) -> bool:
        # Stop inside the epoch after `stop_after` epochs have completed for trial 0.
        return self.stop_after is not None and len(self.rows.get(0, [])) >= self.stop_after


@pytest.mark.parametrize("compact_below", [0.5, 2.0])
def test_an_early_stopped_trial_is_frozen_while_the_others_train(tmp_path: Path, compact_below: float) -> None:
    key = "groove_predictor"
    dataset = make_synthetic(key, SAMPLES, 1)
    # Patience 1 with an unreachable min_delta stops trial 0 after epoch 2 (epoch 1 always improves on inf).
    configs = [_config(epochs=4, early_stopping_patience=1, min_delta=1e3), _config(epochs=4, lr=2e-3)]
    outcomes = train_stack(
        key, dataset, [TrialPlan(i, c, tmp_path / str(i)) for i, c in enumerate(configs)], compact_below=compact_below
    )
    assert [o.stop_reason for o in outcomes] == ["early_stopping", "completed"]
    assert [o.epochs_run for o in outcomes] == [2, 4]
    stopped = train_model(key, dataset, configs[0], tmp_path / "solo0")
    assert stopped.epochs_run == 2
    _assert_close(_weights(tmp_path / "solo0", key), _weights(tmp_path / "0", key))
    train_model(key, dataset, configs[1], tmp_path / "solo1")
    _assert_close(_weights(tmp_path / "solo1", key), _weights(tmp_path / "1", key))


def test_an_interrupted_stack_resumes_to_the_uninterrupted_result(tmp_path: Path) -> None:
    key = "harmony_predictor"
    dataset = make_synthetic(key, SAMPLES, 1)
    configs = [_config(epochs=4, checkpoint_every=1, lr=lr) for lr in (1e-3, 4e-3)]
    configs.append(_config(epochs=4, checkpoint_every=2, lr=2e-3))  # its checkpoint lags: it redoes an epoch
    plans = [TrialPlan(i, c, tmp_path / "run" / str(i)) for i, c in enumerate(configs)]
    first = train_stack(key, dataset, plans, callbacks=_Recorder(stop_after_epochs=3))
    assert {o.stop_reason for o in first} == {"cancelled"}
    assert load_checkpoint(tmp_path / "run" / "0" / f"{key}.last.pt")["epoch"] == 3
    assert load_checkpoint(tmp_path / "run" / "2" / f"{key}.last.pt")["epoch"] == 2
    resumed = train_stack(key, dataset, plans)
    whole = train_stack(key, dataset, [TrialPlan(i, c, tmp_path / "whole" / str(i)) for i, c in enumerate(configs)])
    for i in range(3):
        assert resumed[i].epochs_run == whole[i].epochs_run == 4
        _assert_close(_weights(tmp_path / "whole" / str(i), key), _weights(tmp_path / "run" / str(i), key), 1e-6)
        assert [r["epoch"] for r in resumed[i].history] == [1, 2, 3, 4]


def test_stacked_adamw_matches_torch_fused_adamw() -> None:
    torch.manual_seed(0)
    start = torch.randn(2, 96)
    buffer = start.clone().requires_grad_(True)
    optimizer = StackedAdamW({"w": buffer}, decayed=["w"])
    solo = [start[k].clone().requires_grad_(True) for k in range(2)]
    solo_opt = [
        torch.optim.AdamW([p], lr=1.0, weight_decay=wd, fused=True) for p, wd in zip(solo, (0.1, 0.0), strict=True)
    ]
    for step in range(25):
        grad = torch.randn(2, 96) * (step + 1)
        buffer.grad = grad.clone()
        lrs = torch.tensor([1e-3, 3e-2], dtype=torch.float64) * 0.95**step
        optimizer.step({"w": buffer}, lrs.numpy(), np.array([0.1, 0.0]), np.array([5.0, 0.0]), np.array([True, True]))
        for k in range(2):
            solo[k].grad = grad[k].clone()
            if k == 0:
                torch.nn.utils.clip_grad_norm_([solo[k]], 5.0)
            solo_opt[k].param_groups[0]["lr"] = float(lrs[k])
            solo_opt[k].step()
    for k in range(2):
        assert torch.allclose(buffer[k].detach(), solo[k].detach(), rtol=1e-6, atol=1e-7)


def test_inactive_trials_keep_weights_and_moments_exactly() -> None:
    buffer = torch.randn(3, 40).requires_grad_(True)
    optimizer = StackedAdamW({"w": buffer}, decayed=["w"])
    buffer.grad = torch.randn(3, 40)
    optimizer.step({"w": buffer}, np.full(3, 1e-2), np.full(3, 0.1), np.zeros(3), np.array([True, True, True]))
    before = (buffer.detach().clone(), optimizer.exp_avg["w"].clone(), optimizer.exp_avg_sq["w"].clone())
    buffer.grad = torch.full((3, 40), float("nan"))
    optimizer.step({"w": buffer}, np.full(3, 1e-2), np.full(3, 0.1), np.full(3, 1.0), np.array([False, True, False]))
    for after, earlier in zip(
        (buffer.detach(), optimizer.exp_avg["w"], optimizer.exp_avg_sq["w"]), before, strict=True
    ):
        assert torch.equal(after[[0, 2]], earlier[[0, 2]])
    assert list(optimizer.steps) == [1, 2, 1]


def test_stacked_gru_and_lstm_forward_equal_the_solo_layers() -> None:
    torch.manual_seed(0)
    specs: list[LayerSpec] = [
        DenseSpec("fc1", 6, 10, "tanh"),
        RecurrentSpec("gru", "gru", 10, 8),
        RecurrentSpec("lstm", "lstm", 8, 5),
    ]
    models = [LayerStack(specs) for _ in range(3)]
    net = StackedNetwork(models[0], [m.state_dict() for m in models], torch.device("cpu"))
    x = torch.randn(7, 6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stacked = net.preactivation(x)
    for k, model in enumerate(models):
        assert torch.allclose(stacked[k], model.preactivation(x), atol=1e-6)
        for name, value in model.state_dict().items():
            assert torch.equal(net.trial_state(k)[name], value)
    assert {s.name for s in net.slots if s.group == "frozen"} == {"layers.gru.weight_hh_l0", "layers.lstm.weight_hh_l0"}


def test_trials_that_differ_in_shape_or_batches_go_to_separate_stacks(tmp_path: Path) -> None:
    key = "groove_predictor"
    plans = [
        TrialPlan(0, _config(lr=1e-3), tmp_path),
        TrialPlan(1, _config(batch_size=16), tmp_path),
        TrialPlan(2, _config(lr=1e-2, weight_decay=0.2, epochs=7), tmp_path),
        TrialPlan(3, _config(architecture={key: {"fc1": 32}}), tmp_path),
    ]
    assert [[p.number for p in s] for s in group_into_stacks(key, plans)] == [[0, 2], [1], [3]]
    assert [[p.number for p in s] for s in group_into_stacks(key, plans, max_size=1)] == [[0], [2], [1], [3]]
