"""Hyperparameter sweeps: stacked trials (K configurations trained as one), search strategies and the runner."""
