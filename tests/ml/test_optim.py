"""AdamW groups, the learning-rate schedules and gradient clipping, with exact expected values."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from ml.config import TrainConfig
from ml.errors import ConfigError
from ml.models import build_model
from ml.synthetic import make_synthetic
from ml.train.optim import LrSchedule, clip_gradients, make_optimizer, parameter_groups
from ml.train.trainer import train_model


def test_weight_decay_skips_every_bias() -> None:
    model = build_model("harmony_predictor")  # three dense layers: 3 weight matrices, 3 biases
    decay, no_decay = parameter_groups(model, 0.05)
    assert decay["weight_decay"] == 0.05 and no_decay["weight_decay"] == 0.0
    assert [tuple(p.shape) for p in decay["params"]] == [(256, 128), (128, 256), (64, 128)]
    assert [tuple(p.shape) for p in no_decay["params"]] == [(256,), (128,), (64,)]
    lstm = build_model("melody_transformer")
    _, lstm_no_decay = parameter_groups(lstm, 0.1)
    names = {n for n, p in lstm.named_parameters() if p.ndim < 2}
    assert len(lstm_no_decay["params"]) == len(names) and all("bias" in n for n in names)
    optimizer = make_optimizer(model, 1e-3, 0.05, torch.device("cpu"))
    assert isinstance(optimizer, torch.optim.AdamW) and len(optimizer.param_groups) == 2


def test_cosine_schedule_values() -> None:
    schedule = LrSchedule("cosine", base_lr=1e-3, total_steps=110, warmup_steps=10, min_lr_ratio=0.1)
    assert schedule.lr_at(0) == pytest.approx(1e-4)  # 1/10 of the rate on the first warm-up step
    assert schedule.lr_at(9) == pytest.approx(1e-3)  # warm-up ends at the full rate
    assert schedule.lr_at(10) == pytest.approx(1e-3)
    assert schedule.lr_at(59) == pytest.approx(1e-4 + 0.9e-3 * 0.5 * (1 + math.cos(math.pi * 49 / 99)))
    assert schedule.lr_at(109) == pytest.approx(1e-4)  # the last planned step: min_lr_ratio * lr
    assert schedule.lr_at(500) == pytest.approx(1e-4)  # past the plan (a longer resume): stays at the floor


def test_plateau_halves_after_patience_and_constant_stays() -> None:
    plateau = LrSchedule("plateau", base_lr=1e-2, total_steps=100, warmup_steps=0, plateau_patience=2)
    for loss in (1.0, 0.9, 0.95, 0.91):  # best 0.9, then 2 epochs without improvement: within patience
        plateau.end_epoch(loss)
    assert plateau.lr_at(50) == pytest.approx(1e-2)
    plateau.end_epoch(0.92)  # the 3rd epoch without improvement: halve
    assert plateau.lr_at(50) == pytest.approx(5e-3) and plateau.plateau_wait == 0
    constant = LrSchedule("constant", base_lr=1e-2, total_steps=100, warmup_steps=4)
    assert [constant.lr_at(s) for s in (0, 3, 99)] == [pytest.approx(2.5e-3), 1e-2, 1e-2]


def test_clipping_bounds_the_global_gradient_norm() -> None:
    model = build_model("dynamics_engine")
    loss = (model(torch.full((8, 32), 50.0)) * 1e4).sum()
    loss.backward()
    before = torch.sqrt(sum((p.grad**2).sum() for p in model.parameters() if p.grad is not None))
    assert float(before) > 1.0
    clip_gradients(model, 1.0)
    after = torch.sqrt(sum((p.grad**2).sum() for p in model.parameters() if p.grad is not None))
    assert float(after) == pytest.approx(1.0, rel=1e-5)


def test_history_records_the_schedule(tmp_path: Path) -> None:
    # 120 training rows: 4 batches of 32, 12 steps; epoch 2 ends on step 7, 3 of the 7 cosine steps after warm-up
    data = make_synthetic("groove_predictor", 200, seed=0)
    config = TrainConfig(epochs=3, batch_size=32, warmup_epochs=1, lr=1e-3, min_lr_ratio=0.1, early_stopping_patience=0)
    history = train_model("groove_predictor", data, config, tmp_path).history
    assert [row["lr"] for row in history] == pytest.approx(
        [1e-3, 1e-3 * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 3 / 7))), 1e-4]
    )


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"lr_schedule": "step"}, "lr_schedule must be one of cosine, plateau, constant"),
        ({"warmup_epochs": -1}, "warmup_epochs must be a number"),
        ({"min_lr_ratio": 1.5}, "min_lr_ratio must be a number"),
        ({"plateau_patience": 1.5}, "plateau_patience must be an integer"),
        ({"grad_clip": -0.1}, "grad_clip must be a number"),
    ],
)
def test_bad_schedule_options_name_the_field(values: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        TrainConfig.from_dict(values)
