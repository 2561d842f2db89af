"""Golden vectors (MODEL.io.json) and the export file set: reproducible from the JSON, deterministic, findable."""

from pathlib import Path

import numpy as np
import pytest
import torch

from ml.errors import ExportError
from ml.export import (
    check_golden,
    export_paths,
    export_rtneural,
    golden_vectors,
    job_export_paths,
    read_golden,
    reference_forward,
    write_export,
)
from ml.export.golden import MIN_TOLERANCE
from ml.models import MODEL_KEYS, build_model
from ml.normalize import FeatureNormalizer


def _setup(key: str) -> tuple:
    model = build_model(key)
    generator = torch.Generator().manual_seed(len(key))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=generator) * 0.3)
    rng = np.random.default_rng(0)
    size = model.input_size
    rows = rng.normal(rng.uniform(-40, 10, size), rng.uniform(0.5, 20, size), (200, size)).astype(np.float32)
    normalizer = FeatureNormalizer.fit(rows)
    return model, normalizer, rows, export_rtneural(model, normalizer)


@pytest.mark.parametrize("key", MODEL_KEYS)
def test_golden_outputs_reproduce_from_the_json(key: str, tmp_path: Path) -> None:
    model, normalizer, rows, doc = _setup(key)
    paths = write_export(doc, model, normalizer, tmp_path / f"{key}.json", sample_rows=rows, rows_source="test rows")
    assert paths == job_export_paths(tmp_path, key) and all(p.is_file() for p in paths.existing())
    golden = read_golden(paths.golden)
    assert golden["model_key"] == key and golden["count"] == 16 == len(golden["inputs"]) == len(golden["outputs"])
    assert (golden["input_size"], golden["output_size"]) == (model.input_size, model.output_size)
    assert golden["weights_sha256"] == doc["metadata"]["weights_sha256"]
    assert MIN_TOLERANCE <= golden["tolerance"] <= 1e-3
    assert golden["tolerance"] >= 4 * golden["measured"]["float32_max_abs_error"]
    # Inputs are raw rows (13 evenly spaced: first and last included), zeros, then the rows' min and max.
    inputs = np.asarray(golden["inputs"], dtype=np.float32)
    np.testing.assert_array_equal(inputs[0], rows[0])
    np.testing.assert_array_equal(inputs[12], rows[-1])
    np.testing.assert_array_equal(inputs[13:], [np.zeros(model.input_size), rows.min(axis=0), rows.max(axis=0)])
    assert golden["labels"][:2] == ["row 0", "row 17"] and golden["labels"][13] == "zeros"
    # Outputs are PyTorch's on the normalized rows.
    with torch.no_grad():
        expected = model(torch.from_numpy(normalizer.transform(inputs))).numpy()
    assert np.abs(np.asarray(golden["outputs"]) - expected).max() < 1e-4
    assert check_golden(doc, golden) <= golden["tolerance"]
    assert check_golden(doc, golden, stateful=True) <= golden["tolerance"]
    err32 = np.abs(reference_forward(doc, inputs, dtype=np.float32) - np.asarray(golden["outputs"])).max()
    assert err32 <= golden["tolerance"]


@pytest.mark.parametrize("key", ["emotion_recognizer", "dynamics_engine"])
def test_golden_files_are_byte_identical_for_the_same_model(key: str, tmp_path: Path) -> None:
    model, normalizer, rows, doc = _setup(key)
    first = write_export(doc, model, normalizer, tmp_path / "a" / f"{key}.json", sample_rows=rows)
    (tmp_path / "b").mkdir()
    second = write_export(doc, model, normalizer, tmp_path / "b" / f"{key}.json", sample_rows=rows)
    for one, other in zip(first.existing(), second.existing(), strict=True):
        assert one.read_bytes() == other.read_bytes(), one.name


def test_neutral_inputs_without_rows() -> None:
    model, normalizer, _, doc = _setup("groove_predictor")
    golden = golden_vectors(doc, model, normalizer)
    inputs = np.asarray(golden["inputs"], dtype=np.float32)
    assert len(inputs) == 16 and not inputs[0].any()
    np.testing.assert_array_equal(inputs[1], normalizer.offset)
    np.testing.assert_array_equal(inputs[2], normalizer.offset + normalizer.scale)
    assert "no data rows" in golden["made_by"]["inputs"]
    assert check_golden(doc, golden) <= golden["tolerance"]
    assert golden == golden_vectors(doc, model, normalizer)


def test_golden_of_other_weights_or_beyond_tolerance_is_refused() -> None:
    model, normalizer, rows, doc = _setup("harmony_predictor")
    golden = golden_vectors(doc, model, normalizer, rows)
    with pytest.raises(ExportError, match="other weights"):
        check_golden(doc, {**golden, "weights_sha256": "0" * 64})
    shifted = {**golden, "outputs": (np.asarray(golden["outputs"]) + 1e-3).tolist()}
    with pytest.raises(ExportError, match="misses its golden outputs"):
        check_golden(doc, shifted)


def test_export_paths_beside_any_json_name(tmp_path: Path) -> None:
    paths = export_paths(tmp_path / "shipped.v2.json")
    assert paths.names() == ["shipped.v2.json", "shipped.v2.io.json", "shipped.v2.modelt.h"]
