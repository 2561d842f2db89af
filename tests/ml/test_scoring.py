"""Scores, skill and verdicts, and the baselines, on hand-made rows with exact expected values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ml import emotion
from ml.baselines import fit_baselines
from ml.scoring import column_report, output_loss, skill_and_verdict


def test_output_losses_match_the_training_losses() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(5, 128))
    targets = rng.uniform(size=(5, 128))
    expected = float(F.binary_cross_entropy_with_logits(torch.tensor(logits), torch.tensor(targets)))
    assert output_loss("melody_transformer", 1 / (1 + np.exp(-logits)), targets) == pytest.approx(expected, rel=1e-9)
    z = rng.normal(size=(4, 64))
    onehot = np.eye(64)[[3, 7, 7, 0]]
    expected = float(F.kl_div(F.log_softmax(torch.tensor(z), -1), torch.tensor(onehot), reduction="batchmean"))
    probabilities = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    assert output_loss("harmony_predictor", probabilities, onehot) == pytest.approx(expected, rel=1e-9)
    assert output_loss("groove_predictor", np.zeros((2, 32)), np.full((2, 32), 0.5)) == 0.25


def test_skill_and_verdict() -> None:
    skill, verdict = skill_and_verdict(0.8, {"unigram": 2.0, "bigram": 1.0})
    assert skill["value"] == pytest.approx(0.2) and skill["best_baseline"] == "bigram"
    assert skill["per_baseline"] == {"unigram": pytest.approx(0.6), "bigram": pytest.approx(0.2)}
    assert verdict == "useful: beats every baseline; test loss 20.0% below the best one (bigram)"
    _, verdict = skill_and_verdict(0.995, {"unigram": 2.0, "bigram": 1.0})
    assert verdict == "not better than the bigram baseline (within 2% of its test loss); beats unigram"
    skill, verdict = skill_and_verdict(1.5, {"training_mean": 1.0})
    assert skill["value"] == pytest.approx(-0.5)
    assert verdict == "worse than the training_mean baseline: test loss 50.0% above it"


def test_column_report_names_constant_and_near_constant_columns() -> None:
    values = np.zeros((200, 4))
    values[:, 1] = np.arange(200)
    values[0, 2] = 1.0  # one row in 200 differs: 99.5 % one value
    values[:10, 3] = 1.0  # 95 %: informative
    report = column_report(values)
    assert report["constant"] == [0] and report["near_constant"] == [2]


def test_harmony_bigram_and_unigram_are_counted_on_training_rows() -> None:
    emb = emotion.encode(0.0, 0.0)

    def row(current: int, following: int) -> tuple[np.ndarray, np.ndarray]:
        context = np.zeros(64)
        context[current] = 1.0
        context[(current + 5) % 60] = 0.5  # an earlier chord: weaker than the current one
        return np.concatenate([emb, context]), np.eye(64)[following]

    rows = [row(0, 7), row(0, 7), row(0, 9), row(7, 0)]
    x = np.stack([r[0] for r in rows])
    y = np.stack([r[1] for r in rows])
    unigram, bigram = fit_baselines("harmony_predictor", x, y)
    assert unigram.name == "unigram" and bigram.name == "bigram"
    assert unigram.predict(x[:1])[0, [0, 7, 9]].tolist() == [0.25, 0.5, 0.25]
    after_c = bigram.predict(x[:1])[0]
    # counts after chord 0: 7 twice, 9 once; add-one smoothing spreads one count by the unigram
    assert after_c[7] == pytest.approx((2 + 0.5) / 4) and after_c[9] == pytest.approx((1 + 0.25) / 4)
    assert after_c.sum() == pytest.approx(1.0)
    unseen = bigram.predict(row(30, 0)[0][None, :])[0]
    assert np.allclose(unseen, unigram.predict(x[:1])[0])  # no counts: the unigram


def test_nearest_emotion_baseline_looks_up_the_closest_training_emotion() -> None:
    happy, sad = emotion.encode(0.8, 0.6), emotion.encode(-0.8, -0.6)
    x = np.stack([happy, happy, sad]).astype(np.float64)
    y = np.array([[1.0] * 32, [0.0] * 32, [-1.0] * 32])
    mean, nearest = fit_baselines("groove_predictor", x, y)
    assert mean.predict(x[:1])[0, 0] == pytest.approx(0.0)
    near_happy = emotion.encode(0.7, 0.5)[None, :].astype(np.float64)
    assert nearest.predict(near_happy)[0].tolist() == [0.5] * 32
    assert nearest.predict(sad[None, :].astype(np.float64))[0].tolist() == [-1.0] * 32


def test_recent_velocity_baseline_reads_its_input_column() -> None:
    from ml.data.symbolic.dynamics import RECENT_VELOCITY_COLUMN

    x = np.full((3, 32), 0.5)
    x[:, RECENT_VELOCITY_COLUMN] = [0.0, 0.25, 0.75]
    y = np.full((3, 16), 0.2)
    y[:, 0] = [0.3, 0.6, 0.9]
    _, recent, _ = fit_baselines("dynamics_engine", x, y)
    predicted = recent.predict(x)
    assert predicted[:, 0].tolist() == [pytest.approx(0.6), 0.25, 0.75]  # no history: the training mean
    assert np.allclose(predicted[:, 1:], 0.2)


def test_emotion_ridge_baseline_recovers_a_linear_map() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, 128))
    weights = rng.normal(size=(128, 64)) * 0.01
    y = np.clip(x @ weights, -1, 1)
    _, ridge = fit_baselines("emotion_recognizer", x, y)
    assert float(np.abs(ridge.predict(x) - y).max()) < 0.01
    assert not math.isnan(float(ridge.predict(x[:1]).sum()))
