"""The submit form cannot drift from what the service accepts: bounds, defaults and fields match TrainConfig."""

from __future__ import annotations

import math
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from app.web import forms, views
from ml.config import AugmentationConfig, TrainConfig
from ml.errors import ConfigError
from ml.normalize import NORMALIZER_MODES
from ml.train.plot import LOSS_NAMES


def accepted(name: str, value: Any) -> bool:
    """True if TrainConfig takes `value` for `name` (augmentation.x for augmentation fields)."""
    if name.startswith("augmentation."):
        values: dict[str, Any] = {"augmentation": {name.split(".", 1)[1]: value}}
    else:
        values = {name: value}
    if name == "val_split":
        values["test_split"] = 1e-12
    if name == "test_split":
        values["val_split"] = 1e-12
    try:
        TrainConfig.from_dict(values)
    except ConfigError:
        return False
    return True


def nudge(value: float, kind: str, up: bool) -> float:
    if kind == "integer":
        return value + (1 if up else -1)
    return value * (1 + 1e-9) + 1e-12 if up else value * (1 - 1e-9) - 1e-12


@pytest.mark.parametrize("spec", [*forms.param_fields()[0], *forms.param_fields()[1]], ids=lambda s: s["name"])
def test_every_bound_of_the_form_is_the_bound_trainconfig_checks(spec: dict[str, Any]) -> None:
    name, kind = spec["name"], spec["kind"]
    cast = int if kind == "integer" else float
    if kind == "enum":
        assert all(accepted(name, choice) for choice in spec["choices"])
        assert not accepted(name, "no-such-choice")
        return
    if kind == "object":
        return
    for inclusive, exclusive, up in (("min", "above", False), ("max", "below", True)):
        if inclusive in spec:
            edge = cast(spec[inclusive])
            if not (name in ("val_split", "test_split") and edge >= 1):
                assert accepted(name, edge), (name, edge)
            assert not accepted(name, cast(nudge(edge, kind, up))), (name, edge)
        elif exclusive in spec:
            edge = cast(spec[exclusive])
            assert not accepted(name, edge), (name, edge)
            assert accepted(name, cast(nudge(edge, kind, not up))) or kind == "integer", (name, edge)
        else:
            pytest.fail(f"{name} has no {inclusive} bound in the form")


def test_the_form_offers_every_trainconfig_field_with_its_default() -> None:
    training, augmentation = forms.param_fields()
    offered = {spec["name"]: spec["default"] for spec in training}
    for field in fields(TrainConfig):
        if field.name in forms.NOT_IN_FORM or field.name == "augmentation":
            continue
        assert field.name in offered, field.name
        assert offered[field.name] == getattr(TrainConfig(), field.name), field.name
    assert {s["name"] for s in augmentation} == {f"augmentation.{f.name}" for f in fields(AugmentationConfig)}
    normalize = next(s for s in training if s["name"] == "normalize")
    assert tuple(normalize["choices"]) == NORMALIZER_MODES
    assert next(s for s in training if s["name"] == "epochs")["range"] == "1..10000"
    assert next(s for s in training if s["name"] == "val_split")["range"] == "(0, 1)"


def test_a_submitted_form_becomes_the_api_body_with_only_changed_params() -> None:
    form = {
        "model": "groove_predictor",
        "data": "synthetic",
        "queue": "cpu",
        "epochs": "5",
        "batch_size": "64",
        "lr": "",
        "lr_schedule": "cosine",
        "augmentation.copies": "2",
        "architecture": '{"groove_predictor": {}}',
    }
    body = forms.parse_job(form)
    assert body["synthetic"] is True and body["dataset_id"] is None and body["type"] == "train"
    # an empty layer map reads as the model's default sizes, stated explicitly
    assert body["params"] == {
        "epochs": 5,
        "architecture": {"groove_predictor": {"fc1": 128, "fc2": 64}},
        "augmentation": {"copies": 2},
    }
    TrainConfig.from_dict(body["params"])
    with pytest.raises(forms.FormErrors) as bad:
        forms.parse_job({"model": "nope", "data": "", "epochs": "0", "architecture": "{"})
    assert {"model", "data", "epochs", "architecture"} <= set(bad.value.errors)


def test_loss_names_match_the_plot_and_views_format_figures() -> None:
    assert views.LOSS_NAMES == LOSS_NAMES
    assert views.model_loss("harmony_predictor") == "KL divergence"
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert views.age(now - timedelta(seconds=5), now) == "5 s ago"
    assert views.age(now - timedelta(hours=3), now) == "3 h ago"
    assert views.duration(200) == "3 min 20 s" and views.duration(None) == ""
    assert views.human_size(812) == "812 B" and views.human_size(45213) == "45.2 kB"
    assert views.number(None) == "—" and views.number(math.inf) == "inf" and views.number(0.000123456) == "0.0001235"


def test_the_evaluation_headline_reads_train_and_evaluate_results() -> None:
    headline = {
        "test_loss": 2.1,
        "metrics": {},
        "baseline_losses": {"bigram": 2.4, "unigram": 3.5},
        "skill": 0.12,
        "best_baseline": "bigram",
        "verdict": "useful: beats every baseline",
        "test_samples": 9,
    }
    full = {
        "test_loss": 2.1,
        "metrics": {},
        "baselines": {"bigram": {"loss": 2.4}},
        "skill": {"value": 0.12, "best_baseline": "bigram"},
        "verdict": "not better",
        "samples": 9,
    }
    train = SimpleNamespace(
        result={
            "models": {
                "harmony_predictor": {
                    "status": "trained",
                    "best_epoch": 3,
                    "export_max_abs_error": 2e-7,
                    "evaluation": headline,
                }
            }
        }
    )
    shown = views.model_summaries(train)[0]
    assert shown["parity_ok"] is True and shown["evaluation"]["useful"] and shown["loss"] == "KL divergence"
    evaluate = SimpleNamespace(result={"evaluation": {"harmony_predictor": full}})
    shown = views.model_summaries(evaluate)[0]["evaluation"]
    assert shown["baselines"] == {"bigram": 2.4} and shown["skill"] == 0.12 and not shown["useful"]
    assert views.model_summaries(SimpleNamespace(result=None)) == []


def test_a_data_set_still_validating_shows_with_no_report() -> None:
    row = SimpleNamespace(
        id="d" * 32,
        name="x",
        format="maestro",
        path="/p",
        source="folder",
        usable=0,
        created_at=datetime.now(UTC),
        report=None,
        status="validating",
    )
    shown = views.dataset_view(row)
    assert shown["status"] == "validating" and shown["skipped"] == [] and shown["label_ranges"] == {}
    legacy = SimpleNamespace(**{**vars(row), "usable": 3, "report": {"usable": 3, "skipped": []}})
    del legacy.status
    assert views.dataset_view(legacy)["status"] == "ready"


def test_final_metrics_are_min_max_and_last() -> None:
    rows = [{"epoch": 1, "val_loss": 0.5, "lr": 1e-3}, {"epoch": 2, "val_loss": 0.3}, {"epoch": 3, "val_loss": 0.4}]
    assert views.final_metrics(rows)["val_loss"] == {"min": 0.3, "max": 0.5, "last": 0.4}
    assert views.best_epoch(rows) == 2
