"""Shared test setup: one torch thread (the machine has two cores and tests run beside other work)."""

import torch

torch.set_num_threads(1)
