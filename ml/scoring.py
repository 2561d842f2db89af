"""Scores of final outputs against targets, in numpy: the one loss and metric definitions that the trained
model and every baseline are judged by on the same rows, plus the skill figure and the plain verdict."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ml import emotion
from ml.models.registry import get_spec

Array = npt.NDArray[np.float64]
PROBABILITY_FLOOR = 1e-7
VERDICT_MARGIN = 0.02  # relative test-loss difference below which two predictors count as on par


def output_loss(model_key: str, outputs: npt.ArrayLike, targets: npt.ArrayLike) -> float:
    """The model's loss computed from final outputs (probabilities for BCE/KL), as training defines it."""
    out = np.asarray(outputs, dtype=np.float64)
    tgt = np.asarray(targets, dtype=np.float64)
    kind = get_spec(model_key).loss
    if kind == "bce":
        p = np.clip(out, PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR)
        return float(-(tgt * np.log(p) + (1 - tgt) * np.log(1 - p)).mean())
    if kind == "kl":
        p = np.clip(out, PROBABILITY_FLOOR, None)
        t_log_t = np.where(tgt > 0, tgt * np.log(np.where(tgt > 0, tgt, 1.0)), 0.0)
        return float((t_log_t - tgt * np.log(p)).sum() / max(len(tgt), 1))
    return float(((out - tgt) ** 2).mean())


def _r2(predicted: Array, actual: Array) -> float:
    residual = float(((actual - predicted) ** 2).sum())
    spread = float(((actual - actual.mean()) ** 2).sum())
    return 1.0 - residual / spread if spread > 0 else 0.0


def output_metrics(model_key: str, outputs: npt.ArrayLike, targets: npt.ArrayLike) -> dict[str, float]:
    """Interpretable metrics of final outputs (names are stable: they appear in metrics.json and evaluation.json)."""
    out = np.asarray(outputs, dtype=np.float64)
    tgt = np.asarray(targets, dtype=np.float64)
    if model_key == "emotion_recognizer":
        predicted = emotion.decode(out).astype(np.float64)
        actual = emotion.decode(tgt).astype(np.float64)
        error = np.abs(predicted - actual)
        return {
            "valence_mae": float(error[:, 0].mean()),
            "arousal_mae": float(error[:, 1].mean()),
            "valence_r2": _r2(predicted[:, 0], actual[:, 0]),
            "arousal_r2": _r2(predicted[:, 1], actual[:, 1]),
        }
    if model_key == "melody_transformer":
        predicted_on, actual_on = out >= 0.5, tgt >= 0.5
        tp = float((predicted_on & actual_on).sum())
        precision = tp / max(float(predicted_on.sum()), 1.0)
        recall = tp / max(float(actual_on.sum()), 1.0)
        f1 = 2 * precision * recall / max(precision + recall, 1e-12)
        return {"note_f1": f1, "note_precision": precision, "note_recall": recall}
    if model_key == "harmony_predictor":
        truth = tgt.argmax(axis=1)
        ranked = np.argsort(-out, axis=1, kind="stable")
        return {
            "top1_accuracy": float((ranked[:, 0] == truth).mean()),
            "top3_accuracy": float((ranked[:, :3] == truth[:, None]).any(axis=1).mean()),
        }
    metrics = {"mae": float(np.abs(out - tgt).mean())}
    if model_key == "dynamics_engine":
        metrics["velocity_mae"] = float(np.abs(out[:, 0] - tgt[:, 0]).mean() * 127.0)  # in MIDI velocity steps
    return metrics


def score(model_key: str, outputs: npt.ArrayLike, targets: npt.ArrayLike) -> dict[str, Any]:
    """{"loss", "metrics"} of one predictor on one set of rows."""
    return {"loss": output_loss(model_key, outputs, targets), "metrics": output_metrics(model_key, outputs, targets)}


def skill_and_verdict(model_loss: float, baseline_losses: dict[str, float]) -> tuple[dict[str, Any], str]:
    """Skill = 1 - model loss / best baseline loss (lower loss is better), and a one-line verdict."""
    best = min(baseline_losses, key=lambda name: baseline_losses[name])
    best_loss = baseline_losses[best]
    value = 1.0 - model_loss / best_loss if best_loss > 0 else (0.0 if model_loss == 0 else -float("inf"))
    skill = {
        "value": value,
        "best_baseline": best,
        "definition": "1 - test loss / test loss of the best baseline (0 = no better, 1 = perfect)",
        "per_baseline": {
            name: (1.0 - model_loss / loss if loss > 0 else 0.0) for name, loss in baseline_losses.items()
        },
    }
    beaten = [name for name, loss in baseline_losses.items() if model_loss < loss * (1 - VERDICT_MARGIN)]
    if len(beaten) == len(baseline_losses):
        verdict = f"useful: beats every baseline; test loss {value:.1%} below the best one ({best})"
    elif value > -VERDICT_MARGIN:
        verdict = f"not better than the {best} baseline (within {VERDICT_MARGIN:.0%} of its test loss)"
    else:
        verdict = f"worse than the {best} baseline: test loss {-value:.1%} above it"
    if beaten and len(beaten) < len(baseline_losses):
        verdict += f"; beats {', '.join(sorted(beaten))}"
    return skill, verdict


def column_report(values: npt.ArrayLike, *, tolerance: float = 1e-6, dominant_share: float = 0.99) -> dict[str, Any]:
    """Columns that carry nothing on this data: constant (max - min <= tolerance) or near-constant (one value
    holds at least `dominant_share` of the rows)."""
    array = np.asarray(values, dtype=np.float64)
    constant: list[int] = []
    near: list[int] = []
    for column in range(array.shape[1]):
        data = array[:, column]
        if len(data) == 0 or float(data.max() - data.min()) <= tolerance:
            constant.append(column)
            continue
        _, counts = np.unique(np.round(data, 6), return_counts=True)
        if counts.max() >= dominant_share * len(data):
            near.append(column)
    return {
        "constant": constant,
        "near_constant": near,
        "rule": f"range <= {tolerance:g}; one value >= {dominant_share:.0%}",
    }


def headline(evaluation: dict[str, Any]) -> dict[str, Any]:
    """The few figures a job summary shows: test loss, each baseline's loss, skill and verdict."""
    return {
        "test_loss": evaluation["test_loss"],
        "metrics": evaluation["metrics"],
        "baseline_losses": {name: b["loss"] for name, b in evaluation["baselines"].items()},
        "skill": evaluation["skill"]["value"],
        "best_baseline": evaluation["skill"]["best_baseline"],
        "verdict": evaluation["verdict"],
        "test_samples": evaluation["samples"],
    }
