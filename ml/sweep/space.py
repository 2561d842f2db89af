"""The search space: `{name: {"grid": [...]} | {"low": a, "high": b, "log": bool} | {"choices": [...]}}`.

Names are TrainConfig fields (lr, weight_decay, batch_size, epochs, ...) or the model's architecture layers
(fc1, lstm, ...). Values are checked up front by building the configurations they make, so a bad bound is refused
before any training with the option's own message.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from ml.config import TrainConfig
from ml.errors import ConfigError
from ml.models.registry import get_spec

# Options that are not single values a search could set (maps, nested objects) or that only pick hardware.
NOT_SEARCHABLE = frozenset({"architecture", "learning_rates", "weight_decays", "augmentation", "device", "threads"})
INTEGER_FIELDS = frozenset(f.name for f in fields(TrainConfig) if f.type in ("int", int))


@dataclass(frozen=True)
class Param:
    """One searched option: a grid or a set of choices (values), or a numeric range (low, high, log)."""

    name: str
    kind: str  # grid | choices | range
    values: tuple[Any, ...] = ()
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    integer: bool = False


def searchable_names(model_key: str) -> list[str]:
    """Every name a space may use for this model."""
    options = [f.name for f in fields(TrainConfig) if f.name not in NOT_SEARCHABLE]
    return [*options, *get_spec(model_key).default_architecture]


def parse_space(model_key: str, space: Mapping[str, Any], base: TrainConfig) -> list[Param]:
    """Validate a space spec against the model and the base configuration; ConfigError names what to fix."""
    if not isinstance(space, Mapping) or not space:
        raise ConfigError('the search space is empty: give at least one parameter, e.g. {"lr": {"low": 1e-4, ...}}')
    known = searchable_names(model_key)
    architecture = set(get_spec(model_key).default_architecture)
    params = []
    for name, spec in space.items():
        if name not in known:
            raise ConfigError(f"unknown search parameter {name!r} for {model_key}; searchable: {', '.join(known)}")
        integer = name in INTEGER_FIELDS or name in architecture
        param = _parse_one(name, spec, integer)
        for value in _probe_values(param):
            apply_params(model_key, base, {name: value})  # raises the option's own range message
        params.append(param)
    return params


def _parse_one(name: str, spec: Any, integer: bool) -> Param:
    forms = [key for key in ("grid", "choices", "low") if isinstance(spec, Mapping) and key in spec]
    if not isinstance(spec, Mapping) or len(forms) != 1:
        raise ConfigError(
            f'search parameter {name!r} needs exactly one of {{"grid": [...]}}, {{"choices": [...]}} or '
            f'{{"low": a, "high": b, "log": false}}, got {spec!r}'
        )
    extra = set(spec) - {"grid", "choices", "low", "high", "log"}
    if extra:
        raise ConfigError(f"search parameter {name!r}: unknown key(s) {', '.join(sorted(extra))}")
    if forms[0] in ("grid", "choices"):
        values = spec[forms[0]]
        if not isinstance(values, list) or not values:
            raise ConfigError(f"search parameter {name!r}: {forms[0]} must be a non-empty list, got {values!r}")
        if len(set(map(repr, values))) != len(values):
            raise ConfigError(f"search parameter {name!r}: {forms[0]} repeats a value: {values!r}")
        return Param(name, forms[0], values=tuple(values), integer=integer)
    low, high, log = spec.get("low"), spec.get("high"), spec.get("log", False)
    for label, bound in (("low", low), ("high", high)):
        if isinstance(bound, bool) or not isinstance(bound, int | float) or not math.isfinite(bound):
            raise ConfigError(f"search parameter {name!r}: {label} must be a finite number, got {bound!r}")
    assert isinstance(low, int | float) and isinstance(high, int | float)
    if not isinstance(log, bool):
        raise ConfigError(f"search parameter {name!r}: log must be true or false, got {log!r}")
    if low >= high:
        raise ConfigError(
            f"search parameter {name!r}: the range [{low}, {high}] is empty or inverted (need low < high)"
        )
    if log and low <= 0:
        raise ConfigError(f"search parameter {name!r}: a log range needs low > 0, got low = {low}")
    if integer and (int(low) != low or int(high) != high):
        raise ConfigError(f"search parameter {name!r} takes integers; got the range [{low}, {high}]")
    return Param(name, "range", low=float(low), high=float(high), log=log, integer=integer)


def _probe_values(param: Param) -> list[Any]:
    if param.kind == "range":
        return [int(param.low), int(param.high)] if param.integer else [param.low, param.high]
    return list(param.values)


def apply_params(model_key: str, base: TrainConfig, params: Mapping[str, Any]) -> TrainConfig:
    """The base configuration with a trial's values set (architecture names go to this model's architecture)."""
    values = base.to_dict()
    layers = get_spec(model_key).default_architecture
    architecture = dict(values["architecture"].get(model_key, {}))
    for name, value in params.items():
        if name in layers:
            architecture[name] = value
        else:
            values[name] = value
    if architecture:
        values["architecture"] = {**values["architecture"], model_key: architecture}
    return TrainConfig.from_dict(values)


def grid_size(params: list[Param]) -> int | None:
    """Number of grid points when every parameter is a grid or choices; None when some are ranges."""
    if any(p.kind == "range" for p in params):
        return None
    return math.prod(len(p.values) for p in params)
