"""The submit form, generated from pydantic schemas: JobCreate (app/schemas.py) and TrainParams for its params.

JobCreate validates the request as the API does; its `params` are checked by ml.config.TrainConfig, whose bounds
TrainParams states as pydantic constraints (defaults are read from TrainConfig itself, and tests/web check every
bound against TrainConfig.validate, so the form cannot drift from what the service accepts).
"""

from __future__ import annotations

import json
from dataclasses import MISSING, fields
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.schemas import JobCreate
from ml.config import DEVICES, MAX_BATCH_SIZE, MAX_EPOCHS, SCHEDULES, AugmentationConfig, TrainConfig

LrSchedule = Literal[SCHEDULES]  # type: ignore[valid-type]
Device = Literal[DEVICES]  # type: ignore[valid-type]
Normalize = Literal["standard", "minmax", "none"]  # ml.normalize.NORMALIZER_MODES (a test keeps them equal)


def _default(name: str, source: type = TrainConfig) -> Any:
    """The dataclass default of a field (default_factory called)."""
    field = next(f for f in fields(source) if f.name == name)
    if field.default is not MISSING:
        return field.default
    factory = field.default_factory
    return factory() if callable(factory) else None


class Augmentation(BaseModel):
    """ml.config.AugmentationConfig: every value 0 (off) .. 100, copies at most 16."""

    model_config = ConfigDict(extra="forbid")
    mel_noise_std: float = Field(default=_default("mel_noise_std", AugmentationConfig), ge=0, le=100,
                                 description="gaussian noise in dB on log-mel windows")  # fmt: skip
    mel_gain_db: float = Field(default=_default("mel_gain_db", AugmentationConfig), ge=0, le=100,
                               description="random global gain on log-mel features, +/- dB")  # fmt: skip
    pitch_shift_semitones: int = Field(default=_default("pitch_shift_semitones", AugmentationConfig), ge=0, le=100,
                                       description="audio pitch shift range, +/- semitones")  # fmt: skip
    time_stretch: float = Field(default=_default("time_stretch", AugmentationConfig), ge=0, le=100,
                                description="audio time-stretch range, rate 1 +/- this")  # fmt: skip
    noise_snr_db: float = Field(default=_default("noise_snr_db", AugmentationConfig), ge=0, le=100,
                                description="audio noise at this SNR in dB (0 = off)")  # fmt: skip
    transpose_semitones: int = Field(default=_default("transpose_semitones", AugmentationConfig), ge=0, le=100,
                                     description="MIDI transposition range, +/- semitones")  # fmt: skip
    tempo_scale: float = Field(default=_default("tempo_scale", AugmentationConfig), ge=0, le=100,
                               description="MIDI tempo scaling range, 1 +/- this")  # fmt: skip
    note_dropout: float = Field(default=_default("note_dropout", AugmentationConfig), ge=0, le=100,
                                description="share of target notes dropped")  # fmt: skip
    copies: int = Field(default=_default("copies", AugmentationConfig), ge=0, le=16,
                        description="augmented copies per training sample")  # fmt: skip


class TrainParams(BaseModel):
    """JobCreate.params: the options of ml.config.TrainConfig with their bounds and defaults."""

    model_config = ConfigDict(extra="forbid")
    epochs: int = Field(default=_default("epochs"), ge=1, le=MAX_EPOCHS, description="most epochs per model")
    batch_size: int = Field(default=_default("batch_size"), ge=1, le=MAX_BATCH_SIZE)
    lr: float | None = Field(default=_default("lr"), gt=0, le=10,
                             description="empty: the model's configured rate, else 0.001")  # fmt: skip
    weight_decay: float | None = Field(default=_default("weight_decay"), ge=0, le=1,
                                       description="AdamW, weights only; empty: the model's, else 0.01")  # fmt: skip
    lr_schedule: LrSchedule = Field(default=_default("lr_schedule"), description="after a linear warm-up")
    warmup_epochs: float = Field(default=_default("warmup_epochs"), ge=0, le=MAX_EPOCHS, description="0 = none")
    min_lr_ratio: float = Field(default=_default("min_lr_ratio"), ge=0, le=1, description="cosine: last rate / lr")
    plateau_patience: int = Field(default=_default("plateau_patience"), ge=0, le=MAX_EPOCHS,
                                  description="plateau: epochs without improvement before the rate halves")  # fmt: skip
    grad_clip: float = Field(default=_default("grad_clip"), ge=0, le=1e6, description="global L2 norm; 0 = off")
    val_split: float = Field(default=_default("val_split"), gt=0, lt=1, description="validation share")
    test_split: float = Field(default=_default("test_split"), gt=0, lt=1,
                              description="held-out test share when the data set publishes no split")  # fmt: skip
    early_stopping_patience: int = Field(default=_default("early_stopping_patience"), ge=0, le=MAX_EPOCHS)
    min_delta: float = Field(
        default=_default("min_delta"), ge=0, le=1e6, description="smallest improvement that counts"
    )
    checkpoint_every: int = Field(
        default=_default("checkpoint_every"), ge=0, le=MAX_EPOCHS, description="epochs; 0 = off"
    )
    seed: int = Field(default=_default("seed"), ge=0, le=2**32 - 1)
    device: Device = Field(default=_default("device"))
    threads: int = Field(default=_default("threads"), ge=1, le=256,
                         description="torch threads (left at 1: the worker's MLTRAIN_TORCH_THREADS)")  # fmt: skip
    normalize: Normalize = Field(default=_default("normalize"), description="input feature normalization")
    synthetic_samples: int = Field(default=_default("synthetic_samples"), ge=16, le=1_000_000,
                                   description="rows per model with synthetic data")  # fmt: skip
    lookahead_seconds: float = Field(default=_default("lookahead_seconds"), ge=0, le=2,
                                     description="dynamics_engine: how far past an onset inputs look")  # fmt: skip
    architecture: dict[str, dict[str, int]] = Field(
        default=_default("architecture"), description='JSON, e.g. {"groove_predictor": {"fc1": 64}}'
    )
    augmentation: Augmentation = Field(default_factory=lambda: Augmentation())


# TrainConfig fields the form does not offer: per-model rates and decays come from training_config.json.
NOT_IN_FORM = ("learning_rates", "weight_decays")


def _bounds(prop: dict[str, Any]) -> dict[str, Any]:
    """min/max for <input type=number>; an exclusive bound is shown in the hint and checked server-side."""
    out: dict[str, Any] = {}
    for key, attr in (("minimum", "min"), ("maximum", "max")):
        if key in prop:
            out[attr] = prop[key]
    for key, side in (("exclusiveMinimum", "above"), ("exclusiveMaximum", "below")):
        if key in prop:
            out[side] = prop[key]
    return out


def _spec(name: str, prop: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """One form field from its JSON-schema property."""
    options = prop.get("anyOf", [prop])
    main = next((o for o in options if o.get("type") != "null"), prop)
    kind = "enum" if "enum" in main else main.get("type", "string")
    spec: dict[str, Any] = {
        "name": prefix + name,
        "label": name.replace("_", " "),
        "kind": kind,
        "default": prop.get("default"),
        "description": prop.get("description", ""),
        "optional": any(o.get("type") == "null" for o in options),
        "choices": main.get("enum", []),
        **_bounds(main),
    }
    if kind in ("integer", "number"):
        spec["step"] = 1 if kind == "integer" else "any"
    spec["range"] = _range_text(spec)
    return spec


def _range_text(spec: dict[str, Any]) -> str:
    """'1..10000' for integers, '[0, 1)'-style intervals for numbers, '' when unbounded."""
    low = spec.get("min", spec.get("above"))
    high = spec.get("max", spec.get("below"))
    if low is None and high is None:
        return ""
    if spec["kind"] == "integer" and "above" not in spec and "below" not in spec:
        return f"{low}..{high}"
    left = "[" if "min" in spec else "("
    right = "]" if "max" in spec else ")"
    return f"{left}{low}, {high}{right}"


def param_fields(max_epochs: int = MAX_EPOCHS) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(training fields, augmentation fields), each a render spec built from TrainParams' JSON schema."""
    schema = TrainParams.model_json_schema()
    training = [
        _spec(name, prop)
        for name, prop in schema["properties"].items()
        if name != "augmentation"  # nested below
    ]
    for spec in training:
        if spec["name"] == "epochs":
            spec["max"] = min(spec["max"], max_epochs)
            spec["range"] = _range_text(spec)
    augmentation_props = schema["$defs"]["Augmentation"]["properties"]
    augmentation = [_spec(name, prop, "augmentation.") for name, prop in augmentation_props.items()]
    return training, augmentation


def job_fields() -> dict[str, dict[str, Any]]:
    """JobCreate's own fields (model, queue, type choices and descriptions), as its JSON schema states them."""
    schema = JobCreate.model_json_schema()
    return {name: _spec(name, prop) for name, prop in schema["properties"].items() if name != "params"}


class FormErrors(Exception):
    """The submitted form does not validate; `errors` maps field names to messages."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def _clean(form: dict[str, str], name: str) -> str | None:
    value = form.get(name, "").strip()
    return value or None


def parse_params(form: dict[str, str]) -> dict[str, Any]:
    """The job params a submitted form asks for: validated by TrainParams, only values that differ from defaults."""
    raw: dict[str, Any] = {}
    augmentation: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in TrainParams.model_fields:
        if name == "augmentation":
            continue
        value = _clean(form, name)
        if value is None:
            continue
        if name == "architecture":
            try:
                raw[name] = json.loads(value)
            except json.JSONDecodeError as exc:
                errors[name] = f"not valid JSON ({exc.msg})"
            continue
        raw[name] = value
    for name in Augmentation.model_fields:
        value = _clean(form, f"augmentation.{name}")
        if value is not None:
            augmentation[name] = value
    raw["augmentation"] = augmentation
    try:
        params = TrainParams.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors():
            errors[".".join(str(p) for p in error["loc"])] = error["msg"]
    if errors:
        raise FormErrors(errors)
    defaults = TrainParams()
    out = {k: v for k, v in params.model_dump(exclude={"augmentation"}).items() if v != getattr(defaults, k)}
    changed = {k: v for k, v in params.augmentation.model_dump().items() if v != getattr(defaults.augmentation, k)}
    if changed:
        out["augmentation"] = changed
    return out


def parse_job(form: dict[str, str]) -> dict[str, Any]:
    """The JobCreate body of a submitted form, validated by JobCreate (FormErrors otherwise)."""
    errors: dict[str, str] = {}
    try:
        params = parse_params(form)
    except FormErrors as exc:
        errors.update(exc.errors)
        params = {}
    data = _clean(form, "data") or ""
    body = {
        "type": "train",
        "model": _clean(form, "model"),
        "synthetic": data == "synthetic",
        "dataset_id": data if data and data != "synthetic" else None,
        "queue": _clean(form, "queue") or "cpu",
        "params": params,
    }
    if not data:
        errors["data"] = "choose a data set or synthetic data"
    try:
        validated = JobCreate.model_validate(body)
    except ValidationError as exc:
        for error in exc.errors():
            errors[".".join(str(p) for p in error["loc"])] = error["msg"]
    if errors:
        raise FormErrors(errors)
    return validated.model_dump()
