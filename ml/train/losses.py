"""Training losses and the one interpretable metric per model."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ml import emotion
from ml.models import LayerStack, get_spec


def compute_loss(model: LayerStack, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The model's training loss, using the pre-activation where that is the numerically stable form."""
    kind = get_spec(model.key).loss if model.key else "mse"
    if kind == "bce":
        return F.binary_cross_entropy_with_logits(model.preactivation(inputs), targets)
    if kind == "kl":
        # KL(target || softmax(z)) on log-probabilities: no double softmax, no log(0).
        return F.kl_div(F.log_softmax(model.preactivation(inputs), dim=-1), targets, reduction="batchmean")
    return F.mse_loss(model(inputs), targets)


def model_metrics(model_key: str, outputs: torch.Tensor, targets: torch.Tensor) -> dict[str, float]:
    """Interpretable metrics of final outputs against targets (names are stable: they appear in metrics.json)."""
    out = outputs.detach().cpu().double().numpy()
    tgt = targets.detach().cpu().double().numpy()
    if model_key == "emotion_recognizer":
        error = np.abs(emotion.decode(out) - emotion.decode(tgt))
        return {"valence_mae": float(error[:, 0].mean()), "arousal_mae": float(error[:, 1].mean())}
    if model_key == "melody_transformer":
        predicted, actual = out >= 0.5, tgt >= 0.5
        tp = float((predicted & actual).sum())
        precision = tp / max(float(predicted.sum()), 1.0)
        recall = tp / max(float(actual.sum()), 1.0)
        f1 = 2 * precision * recall / max(precision + recall, 1e-12)
        return {"note_f1": f1, "note_precision": precision, "note_recall": recall}
    if model_key == "harmony_predictor":
        truth = tgt.argmax(axis=1)
        ranked = np.argsort(-out, axis=1)
        return {
            "top1_accuracy": float((ranked[:, 0] == truth).mean()),
            "top3_accuracy": float((ranked[:, :3] == truth[:, None]).any(axis=1).mean()),
        }
    return {"mae": float(np.abs(out - tgt).mean())}
