"""Training losses and the one interpretable metric per model."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ml.models import LayerStack, get_spec
from ml.scoring import output_metrics


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
    """Interpretable metrics of final outputs against targets (defined once, in `ml.scoring`)."""
    return output_metrics(model_key, outputs.detach().cpu().double().numpy(), targets.detach().cpu().double().numpy())
