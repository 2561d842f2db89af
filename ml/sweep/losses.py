"""Per-trial training losses of a stack: `ml.train.losses.compute_loss` with the trial axis kept."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ml.models import get_spec
from ml.models.layers import apply_activation


def stacked_loss(model_key: str, output_activation: str, z: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """[K] losses from pre-activations z [K, batch, out] against targets [batch, out], as compute_loss reduces."""
    kind = get_spec(model_key).loss
    y = targets.unsqueeze(0).expand_as(z)
    if kind == "bce":
        return F.binary_cross_entropy_with_logits(z, y, reduction="none").mean(dim=(1, 2))
    if kind == "kl":
        # batchmean: the sum over classes and rows divided by the rows, as F.kl_div(reduction="batchmean").
        return F.kl_div(F.log_softmax(z, dim=-1), y, reduction="none").sum(dim=(1, 2)) / z.shape[1]
    return ((apply_activation(z, output_activation) - y) ** 2).mean(dim=(1, 2))
