"""The submit form, generated from the schemas the API validates with: JobCreate and its params' TrainParams.

TrainParams (app/params.py) is generated from ml.config's bound tables, which TrainConfig.validate reads too, so
the form, the API and the trainer share one definition of every option (tests/web check each bound against
TrainConfig.validate). Form values arrive as text: each is converted by its schema type, then validated strictly.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from app.params import TrainParams
from app.schemas import JobCreate
from ml.config import MAX_EPOCHS

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


def _spec(name: str, prop: dict[str, Any], prefix: str = "", default: Any = None) -> dict[str, Any]:
    """One form field from its JSON-schema property (a nested model, e.g. architecture, is a JSON text field)."""
    options = prop.get("anyOf", [prop])
    main = next((o for o in options if o.get("type") != "null"), prop)
    kind = "object" if "$ref" in main else "enum" if "enum" in main else main.get("type", "string")
    spec: dict[str, Any] = {
        "name": prefix + name,
        "label": name.replace("_", " "),
        "kind": kind,
        "default": prop.get("default", default),
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
    low_text, high_text = ("" if v is None else f"{v:g}" for v in (low, high))
    return f"{left}{low_text}, {high_text}{right}"


def param_fields(max_epochs: int = MAX_EPOCHS) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(training fields, augmentation fields), each a render spec built from TrainParams' JSON schema."""
    schema = TrainParams.model_json_schema()
    defaults = TrainParams().model_dump(exclude_none=True)  # nested models: only what is set ({} = defaults)
    training = [
        _spec(name, prop, default=defaults.get(name))
        for name, prop in schema["properties"].items()
        if name != "augmentation" and name not in NOT_IN_FORM  # augmentation: its own fields, below
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


def _typed(text: str, spec: dict[str, Any]) -> Any:
    """A form value as its schema type (what a JSON client would send); ValueError if it is not one."""
    if spec["kind"] == "object":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON ({exc.msg})") from None
    if spec["kind"] == "integer":
        try:
            return int(text)
        except ValueError:
            raise ValueError("a whole number") from None
    if spec["kind"] == "number":
        try:
            return float(text)
        except ValueError:
            raise ValueError("a number") from None
    return text


def parse_params(form: dict[str, str]) -> dict[str, Any]:
    """The job params a submitted form asks for: validated by TrainParams, only values that differ from defaults."""
    raw: dict[str, Any] = {}
    augmentation: dict[str, Any] = {}
    errors: dict[str, str] = {}
    training, augmentation_fields = param_fields()
    for spec, target in [*((s, raw) for s in training), *((s, augmentation) for s in augmentation_fields)]:
        value = _clean(form, spec["name"])
        if value is None:
            continue
        try:
            target[spec["name"].removeprefix("augmentation.")] = _typed(value, spec)
        except ValueError as exc:
            errors[spec["name"]] = str(exc)
    raw["augmentation"] = augmentation
    try:
        params = TrainParams.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors():
            errors[".".join(str(p) for p in error["loc"])] = error["msg"]
    if errors:
        raise FormErrors(errors)
    chosen, defaults = params.model_dump(exclude_none=True), TrainParams().model_dump(exclude_none=True)
    out = {k: v for k, v in chosen.items() if k != "augmentation" and v != defaults.get(k)}
    changed = {k: v for k, v in chosen["augmentation"].items() if v != defaults["augmentation"][k]}
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
