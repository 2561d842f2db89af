"""The plugin bundle: deterministic bytes, a manifest that matches its members, golden checks that refuse a bad
model, the `mltrain bundle` command, and the bundled C++ example compiled with -Werror and run on the bundle."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ml.cli.main import main
from ml.export.bundle import BundleError, build_bundle, cached_bundle, read_manifest

KEYS = ("groove_predictor", "dynamics_engine")


@pytest.fixture(scope="module")
def job_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real training folder: two small models on synthetic data, one epoch."""
    import torch

    from ml.config import TrainConfig
    from ml.pipeline import DataSource, run_training

    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("run")
    config = TrainConfig(epochs=1, synthetic_samples=64, batch_size=32)
    for key in KEYS:
        run_training(key, DataSource(synthetic=True), config, folder)
    return folder


def test_same_folder_gives_byte_identical_zip(job_dir: Path, tmp_path: Path) -> None:
    first = build_bundle(job_dir, tmp_path / "a.zip")
    second = build_bundle(job_dir, tmp_path / "b.zip")
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    assert first.sha256 == second.sha256 and first.model_keys == ["dynamics_engine", "groove_predictor"]
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {i.external_attr >> 16 for i in infos} == {0o100644}


def test_manifest_describes_every_member(job_dir: Path, tmp_path: Path) -> None:
    bundle = build_bundle(job_dir, tmp_path / "plugin-models.zip", job={"id": "j1", "dataset": {"synthetic": True}})
    manifest = read_manifest(bundle.path)
    with zipfile.ZipFile(bundle.path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    assert set(manifest["files"]) == set(members) - {"manifest.json"}
    for name, entry in manifest["files"].items():
        assert entry == {"sha256": hashlib.sha256(members[name]).hexdigest(), "size": len(members[name])}
    assert members["manifest.json"].decode() == json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    groove = manifest["models"]["groove_predictor"]
    assert (groove["input_size"], groove["output_size"], groove["cpp_type"]) == (64, 32, "GroovePredictorModel")
    assert groove["files"]["model"]["name"] == "models/groove_predictor.json"
    assert groove["golden_check"]["max_abs_error"] <= groove["golden_check"]["tolerance"]
    assert groove["export_parity"]["passed"] is True
    assert {"test_loss", "baseline_losses", "skill", "verdict"} <= set(groove["evaluation"])
    assert manifest["job"] == {"id": "j1"} and manifest["dataset"] == {"synthetic": True}
    assert manifest["rtneural"]["layer_types"] == ["dense"] and "1fb1f07" in manifest["rtneural"]["requires"]
    assert "include/mltrain/harmony.h" in members and "docs/plugin.md" in members
    assert "created_at" not in json.dumps(manifest)  # no wall-clock time of the build


def test_cache_is_reused_until_the_folder_changes(job_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "job"
    shutil.copytree(job_dir, folder)
    first = cached_bundle(folder)
    stamp = first.path.stat().st_mtime_ns
    assert cached_bundle(folder).path.stat().st_mtime_ns == stamp
    (folder / "dynamics_engine.json").unlink()
    (folder / "dynamics_engine.io.json").unlink()
    assert cached_bundle(folder).model_keys == ["groove_predictor"]


def test_tampered_model_is_refused(job_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "job"
    shutil.copytree(job_dir, folder)
    doc = json.loads((folder / "groove_predictor.json").read_text())
    doc["layers"][-1]["weights"][1][0] += 0.5  # one bias: the golden outputs no longer match
    (folder / "groove_predictor.json").write_text(json.dumps(doc))
    with pytest.raises(BundleError, match="groove_predictor: refusing to bundle"):
        build_bundle(folder, tmp_path / "x.zip")
    assert not (tmp_path / "x.zip").exists()


def test_cli_bundle_and_one_line_errors(job_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bundle", str(job_dir), "--output", str(tmp_path / "p.zip")]) == 0
    assert "2 models (dynamics_engine, groove_predictor)" in capsys.readouterr().out
    (tmp_path / "empty").mkdir()
    for target in (tmp_path / "empty", tmp_path / "missing"):
        assert main(["bundle", str(target), "--output", str(tmp_path / "q.zip")]) == 1
        err = capsys.readouterr().err.strip()
        assert err.startswith("mltrain bundle: error:") and len(err.splitlines()) == 1
    assert not (tmp_path / "q.zip").exists()


def test_cli_job_failure_is_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MLTRAIN_URL", "http://127.0.0.1:9")  # nothing listens: the client cannot connect
    monkeypatch.setenv("MLTRAIN_TOKEN", "mlt_test")
    assert main(["bundle", "--job", "0" * 32, "--output", "unused.zip"]) == 1
    assert capsys.readouterr().err.strip().startswith("mltrain bundle: error: cannot reach the server")


def test_bundle_code_never_imports_torch() -> None:
    code = "import sys, ml.export.bundle, app.services.bundle; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_bundled_example_compiles_and_passes_on_the_bundle(job_dir: Path, tmp_path: Path) -> None:
    compiler = shutil.which("g++")
    if compiler is None:
        pytest.fail("g++ is not on PATH: the plugin example test needs a C++17 compiler")
    bundle = build_bundle(job_dir, tmp_path / "plugin-models.zip")
    unpacked = tmp_path / "bundle"
    with zipfile.ZipFile(bundle.path) as archive:
        archive.extractall(unpacked)
    binary = tmp_path / "plugin_example"
    flags = ["-std=c++17", "-Wall", "-Wextra", "-Werror", "-O1", "-I", str(unpacked / "include")]
    compiled = subprocess.run(
        [compiler, *flags, str(unpacked / "examples" / "plugin_example.cpp"), "-o", str(binary)],
        capture_output=True,
        text=True,
    )
    assert compiled.returncode == 0, compiled.stderr[-3000:]
    run = subprocess.run([str(binary), str(unpacked / "models")], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count(" ok\n") == 2 and "groove_predictor(emotion" in run.stdout
    golden = json.loads((unpacked / "models" / "groove_predictor.io.json").read_text())
    golden["outputs"][0][0] += 1.0  # the example must refuse a model that misses its golden outputs
    (unpacked / "models" / "groove_predictor.io.json").write_text(json.dumps(golden))
    run = subprocess.run([str(binary), str(unpacked / "models")], capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and "groove_predictor: 16 golden vectors" in run.stdout and "FAIL" in run.stdout
