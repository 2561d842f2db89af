"""Settings fail fast with a message naming the variable; the OpenAPI schema documents every field."""

from __future__ import annotations

from typing import Any

import pytest

from app.config import Settings, SettingsError, load_settings
from app.main import create_app
from app.schemas import MODEL_KEYS
from ml.models import MODEL_KEYS as ML_MODEL_KEYS


def test_model_keys_match_the_library() -> None:
    assert tuple(MODEL_KEYS) == tuple(ML_MODEL_KEYS)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MLTRAIN_DATABASE_URL", "mysql://db"),
        ("MLTRAIN_BROKER_URL", "kafka://x"),
        ("MLTRAIN_MAX_UPLOAD_BYTES", "-1"),
        ("MLTRAIN_MAX_EPOCHS", "1000000000"),
        ("MLTRAIN_DATASET_ROOTS", " , "),
    ],
)
def test_bad_settings_fail_fast_naming_the_variable(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=variable):
        load_settings()


def test_dataset_roots_split_on_commas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLTRAIN_DATASET_ROOTS", "/srv/a, /srv/b")
    settings = Settings()
    assert [str(p) for p in settings.dataset_roots] == ["/srv/a", "/srv/b"]
    assert settings.resolved_roots()[-1] == settings.upload_root.resolve()  # workers accept uploaded sets too
    assert len(settings.registration_roots()) == 2


def _properties(schema: dict[str, Any]) -> dict[str, Any]:
    return schema.get("properties", {})


def test_every_schema_field_has_an_example() -> None:
    components = create_app(Settings(broker_url="memory://")).openapi()["components"]["schemas"]
    missing = []
    for name, schema in components.items():
        if name in {"HTTPValidationError", "ValidationError"}:
            continue
        for field, spec in _properties(schema).items():
            if "examples" not in spec and "$ref" not in spec and "example" not in spec:
                missing.append(f"{name}.{field}")
    assert missing == []
