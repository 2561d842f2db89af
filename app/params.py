"""JobCreate.params as a strict pydantic schema, generated from ml.config so the API and TrainConfig never drift.

Every field of TrainConfig (and AugmentationConfig) becomes a field here with the type, range and choices that
TrainConfig.validate enforces (ml.config.BOUNDS / CHOICES / PER_MODEL / AUGMENTATION_BOUNDS); a missing entry
fails at import. Strict mode: no "5" for 5 and no true for 1, as TrainConfig refuses them too. Torch-free.
"""

from __future__ import annotations

from dataclasses import MISSING, Field, fields
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, StrictInt, create_model
from pydantic import Field as PydanticField

from ml.config import AUGMENTATION_BOUNDS, BOUNDS, CHOICES, PER_MODEL, AugmentationConfig, Bound, TrainConfig
from ml.models.registry import MAX_HIDDEN_SIZE, MODELS

STRICT = ConfigDict(extra="forbid", strict=True)


def _no_default(schema: dict[str, Any]) -> None:
    """Optional without a default value: absent means "not set" (the model's own value), never null."""
    schema.pop("default", None)


def _default(item: Field[Any]) -> Any:
    if item.default is not MISSING:
        return item.default
    return item.default_factory() if callable(item.default_factory) else None


def _number(bound: Bound, default: Any, description: str | None = None) -> tuple[Any, Any]:
    """(annotation, FieldInfo) of a numeric option with its range as JSON-schema bounds."""
    kind: Any = StrictInt if bound.integer else float  # strict float: ints yes, bools and strings no
    low: dict[str, Any] = {"gt" if bound.low_open else "ge": int(bound.low) if bound.integer else bound.low}
    high: dict[str, Any] = {"lt" if bound.high_open else "le": int(bound.high) if bound.integer else bound.high}
    annotation = kind | None if bound.nullable else kind
    # the schema shows a valid value: the default, else the low end (just above it when the range is open there)
    example = (
        default if default is not None else bound.low if not bound.low_open else min(bound.low * 2 or 1e-3, bound.high)
    )
    return annotation, PydanticField(default=default, description=description, examples=[example], **low, **high)


def _architecture_model() -> type[BaseModel]:
    """Per model, its configurable layers (ml.models.registry defaults) and their sizes 1..MAX_HIDDEN_SIZE."""
    per_model: dict[str, Any] = {}
    for key, spec in MODELS.items():
        layers: dict[str, Any] = {
            name: (StrictInt, PydanticField(default=size, ge=1, le=MAX_HIDDEN_SIZE, examples=[size]))
            for name, size in spec.default_architecture.items()
        }
        model = create_model(f"Architecture_{key}", __config__=STRICT, **layers)
        per_model[key] = (model, PydanticField(default=None, json_schema_extra=_no_default))
    return create_model(
        "Architecture", __config__=STRICT, __doc__="Layer sizes per model; omitted: the defaults.", **per_model
    )


def _per_model(name: str, bound: Bound) -> type[BaseModel]:
    """learning_rates / weight_decays: one optional value per model key."""
    values: dict[str, Any] = {}
    for key in MODELS:
        annotation, info = _number(bound, None)
        info.json_schema_extra = _no_default
        values[key] = (annotation, info)
    title = "".join(part.capitalize() for part in name.split("_"))
    return create_model(title, __config__=STRICT, __doc__=f"{name}: per model key; omitted: its own.", **values)


def _augmentation_model() -> type[BaseModel]:
    missing = {f.name for f in fields(AugmentationConfig)} ^ set(AUGMENTATION_BOUNDS)
    if missing:
        raise RuntimeError(f"ml.config.AUGMENTATION_BOUNDS and AugmentationConfig disagree on {sorted(missing)}")
    values: dict[str, Any] = {
        f.name: _number(AUGMENTATION_BOUNDS[f.name], _default(f)) for f in fields(AugmentationConfig)
    }
    return create_model("Augmentation", __config__=STRICT, __doc__="Training-split augmentation; 0 = off.", **values)


def _train_params_model() -> type[BaseModel]:
    nested: dict[str, Any] = {
        "architecture": _architecture_model(),
        "augmentation": _augmentation_model(),
        **{name: _per_model(name, bound) for name, bound in PER_MODEL.items()},
    }
    values: dict[str, Any] = {}
    for item in fields(TrainConfig):
        name = item.name
        if name in BOUNDS:
            values[name] = _number(BOUNDS[name], _default(item))
        elif name in CHOICES:
            values[name] = (Literal[CHOICES[name]], PydanticField(default=_default(item), examples=[_default(item)]))
        elif name in nested:
            values[name] = (nested[name], PydanticField(default_factory=nested[name]))
        else:
            raise RuntimeError(f"TrainConfig.{name} has no bound in ml.config; add it so the API can check it")
    return create_model(
        "TrainParams",
        __config__=STRICT,
        __doc__="Job params: the options of ml.config.TrainConfig, with its ranges; omitted ones take its defaults.",
        **values,
    )


TrainParams = _train_params_model()


def given(params: BaseModel) -> dict[str, Any]:
    """The params exactly as the client gave them (nested too): what a job stores and TrainConfig receives."""
    return params.model_dump(exclude_unset=True)
