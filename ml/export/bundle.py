"""The plugin bundle: one deterministic zip with everything a plugin build needs from a training (job) folder.

`build_bundle(job_dir, output)` writes `plugin-models.zip`:
- `models/<key>.json`, `models/<key>.io.json`, `models/<key>.modelt.h` for every exported model, each model JSON
  checked against its golden vectors first (a bundle whose check fails is refused, nothing is written);
- `include/mltrain/*.h`, the C++ front end that computes the models' inputs (package data of `ml.cpp`);
- `examples/plugin_example.cpp` and `docs/plugin.md`, how a plugin loads, feeds and checks the models;
- `manifest.json`: per model its sizes, parameter count, files with sha256, export parity, golden check and test
  evaluation; the job and data set when known; format and package versions; what RTNeural must support.

The same inputs give a byte-identical zip: members in sorted order, fixed 1980-01-01 timestamps, 0644
permissions, deflate level 6, a manifest with sorted keys and no wall-clock time. numpy only (no torch), so the
API process builds bundles on request.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from ml.cpp import frontend_headers, include_dir
from ml.errors import ExportError
from ml.export.cpp_types import cpp_type_name
from ml.export.document import load_rtneural, output_size
from ml.export.files import job_export_paths, read_golden
from ml.export.golden import check_golden
from ml.io import atomic_path, file_sha256
from ml.models.registry import MODEL_KEYS

BUNDLE_FORMAT_VERSION = 1
BUNDLE_NAME = "plugin-models.zip"
GUIDE = include_dir() / "plugin.md"
EXAMPLE = include_dir() / "examples" / "plugin_example.cpp"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can hold: no build time leaks into the bytes
ZIP_LEVEL = 6  # zlib's default; fixed, since another level gives other bytes
# What every bundle relies on in RTNeural; `layer_types` and `activations` in the manifest say what this one uses.
RTNEURAL_REQUIREMENT = (
    "RTNeural with the JSON loaders RTNeural::json_parser::parseJson<float>(std::ifstream&) (dynamic Model) and "
    "ModelT::parseJson(std::ifstream&, bool debug) (compile-time ModelT; its DenseT takes the has_bias parameter); "
    "JSON `in_shape` + `layers`, each layer's `type`, `shape`, `weights`; dense kernels [in][out] with the layer's "
    "`activation` appended as its own layer; lstm weights in the Keras layout [W [in][4H], U [H][4H], one summed "
    "bias [4H]] with gate order i, f, c, o (PyTorch's order, no reordering); gru [W, U, b[2][3H]] in z, r, h order; "
    "verified with RTNeural commit 1fb1f07 (ModelT and Model, Eigen and STL backends)"
)
_RUN_FILES = ("export_report.json", "evaluation.json")


class BundleError(ExportError):
    """The folder cannot become a plugin bundle (no exports, a missing file, a failed golden check)."""

    exit_code = 1


@dataclass(frozen=True)
class BundleManifest:
    """A written bundle: where, its size and sha256, and the manifest.json it holds."""

    path: Path
    size: int
    sha256: str
    manifest: dict[str, Any]

    @property
    def model_keys(self) -> list[str]:
        """The bundled models, in manifest order."""
        return list(self.manifest["models"])


def mltrain_version() -> str:
    """The installed mltrain's version (`unknown` when run from a tree that was never installed)."""
    try:
        return metadata.version("mltrain")
    except metadata.PackageNotFoundError:
        return "unknown"


def exported_model_keys(job_dir: Path) -> list[str]:
    """The model keys with a `<key>.json` in the folder, in registry order."""
    return [key for key in MODEL_KEYS if job_export_paths(job_dir, key).model.is_file()]


def _two_digits(value: float) -> float:
    # Two significant digits, as the golden vectors' own figures: stable across BLAS builds.
    return float(f"{value:.2g}")


def _read_run_file(job_dir: Path, name: str) -> dict[str, Any]:
    path = job_dir / name
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BundleError(f"{path} is not readable JSON: {exc}") from None
    return data if isinstance(data, dict) else {}


def _evaluation_headline(evaluation: dict[str, Any] | None) -> dict[str, Any] | None:
    """Test loss, metrics, each baseline's loss, skill and verdict (ModelSummary.evaluation) from evaluation.json."""
    if not evaluation:
        return None
    from ml.scoring import headline

    try:
        return headline(evaluation)
    except (KeyError, TypeError):  # a file from an older run: keep what is there rather than refusing the bundle
        keys = ("test_loss", "metrics", "skill", "verdict")
        return {k: evaluation[k] for k in keys if k in evaluation} or None


def _parity(report: dict[str, Any] | None) -> dict[str, Any] | None:
    if not report:
        return None
    keys = ("max_abs_error", "float32_max_abs_error", "stateful_max_abs_error", "tolerance", "n_inputs", "passed")
    return {k: report[k] for k in keys if k in report}


def _layer_summary(doc: dict[str, Any]) -> tuple[list[str], set[str], set[str]]:
    """`type(activation) -> size` per layer, and the layer types and activations used."""
    lines, types, activations = [], set(), set()
    for layer in doc["layers"]:
        activation = layer.get("activation") or ""
        types.add(layer["type"])
        if activation:
            activations.add(activation)
        lines.append(f"{layer['type']}{f'({activation})' if activation else ''} -> {layer['shape'][-1]}")
    return lines, types, activations


def _model_entry(
    job_dir: Path, key: str, reports: dict[str, Any], evaluations: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, bytes], set[str], set[str]]:
    """The manifest entry of one model and its zip members; BundleError unless its golden check passes."""
    paths = job_export_paths(job_dir, key)
    missing = [p.name for p in (paths.golden, paths.header) if not p.is_file()]
    if missing:
        raise BundleError(f"{key}: {', '.join(missing)} missing beside {paths.model.name} in {job_dir}")
    roles = {"model": paths.model, "golden": paths.golden, "header": paths.header}
    raw = {role: path.read_bytes() for role, path in roles.items()}
    try:
        doc = load_rtneural(json.loads(raw["model"]))
        golden = read_golden(paths.golden)
        error = check_golden(doc, golden)
    except (ExportError, ValueError, KeyError) as exc:
        raise BundleError(f"{key}: refusing to bundle {paths.model.name}: {exc}") from None
    meta = doc.get("metadata") or {}
    layers, types, activations = _layer_summary(doc)
    names = {role: f"models/{path.name}" for role, path in roles.items()}
    entry = {
        "input_size": int(doc["in_shape"][-1]),
        "output_size": output_size(doc),
        "parameter_count": meta.get("parameter_count"),
        "layers": layers,
        "export_format_version": meta.get("export_format_version"),
        "weights_sha256": meta.get("weights_sha256"),
        "state_independent": meta.get("state_independent"),
        "reset_each_call": meta.get("reset_each_call"),
        "input_normalization": meta.get("input_normalization"),
        "cpp_type": cpp_type_name(key),
        "run_id": meta.get("run_id"),
        "best_epoch": meta.get("best_epoch"),
        "data_source": meta.get("data_source"),
        "files": {
            role: {"name": names[role], "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
            for role, data in raw.items()
        },
        "golden_check": {
            "max_abs_error": _two_digits(error),
            "tolerance": golden["tolerance"],
            "count": golden["count"],
            "by": "numpy reference forward of the JSON (ml.export.reference_forward), float64",
        },
        "export_parity": _parity(reports.get(key)),
        "evaluation": _evaluation_headline(evaluations.get(key)),
    }
    return entry, {names[role]: data for role, data in raw.items()}, types, activations


def bundle_contents(job_dir: Path, *, job: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The manifest and every other member (name -> bytes) of the bundle of `job_dir`, nothing written."""
    job_dir = Path(job_dir)
    if not job_dir.is_dir():
        raise BundleError(f"{job_dir} is not a folder")
    keys = exported_model_keys(job_dir)
    if not keys:
        raise BundleError(f"{job_dir} holds no exported model (no <model>.json for any of {', '.join(MODEL_KEYS)})")
    reports, evaluations = (_read_run_file(job_dir, name) for name in _RUN_FILES)
    models: dict[str, Any] = {}
    members: dict[str, bytes] = {}
    types: set[str] = set()
    activations: set[str] = set()
    for key in keys:
        models[key], files, used_types, used_activations = _model_entry(job_dir, key, reports, evaluations)
        members.update(files)
        types |= used_types
        activations |= used_activations
    for header in frontend_headers():
        members[f"include/mltrain/{header.name}"] = header.read_bytes()
    for source, name in ((GUIDE, "docs/plugin.md"), (EXAMPLE, "examples/plugin_example.cpp")):
        if not source.is_file():
            raise BundleError(f"the installed mltrain lacks {source} (package data of ml.cpp)")
        members[name] = source.read_bytes()
    job = dict(job or {})
    dataset = job.pop("dataset", None)
    manifest = {
        "bundle_format_version": BUNDLE_FORMAT_VERSION,
        "mltrain_version": mltrain_version(),
        "export_format_versions": sorted({m["export_format_version"] for m in models.values()}, key=str),
        "rtneural": {
            "requires": RTNEURAL_REQUIREMENT,
            "layer_types": sorted(types),
            "activations": sorted(activations),
        },
        "job": job or None,
        "dataset": dataset,
        "models": models,
        "frontend": {
            "include_dir": "include",
            "headers": sorted(n for n in members if n.startswith("include/")),
            "usage": '-I include, then #include "mltrain/<header>.h" (docs/plugin.md)',
        },
        "files": {
            name: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
            for name, data in sorted(members.items())
        },
    }
    return manifest, members


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    """The manifest as written into the zip: sorted keys, two-space indent, trailing newline."""
    return (json.dumps(manifest, indent=2, sort_keys=True, allow_nan=False) + "\n").encode()


def write_zip(target: Path, members: dict[str, bytes], *, comment: bytes = b"") -> None:
    """Write a deterministic zip: sorted members, fixed timestamps, 0644 files, deflate level ZIP_LEVEL."""
    with atomic_path(target) as tmp, zipfile.ZipFile(tmp, "w") as archive:
        for name in sorted(members):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, whatever the building machine: the attributes below are unix modes
            info.external_attr = 0o100644 << 16
            archive.writestr(info, members[name], compresslevel=ZIP_LEVEL)
        archive.comment = comment


def build_bundle(job_dir: Path, output: Path, *, job: dict[str, Any] | None = None) -> BundleManifest:
    """Check every model of `job_dir` against its golden vectors and write the plugin bundle zip to `output`.

    `job` (id, type, status, ... and `dataset`: id, name, format) goes into the manifest when known. The zip's
    comment names its bundle_key, so a cached copy can be recognised without unpacking it.
    """
    manifest, members = bundle_contents(job_dir, job=job)
    members["manifest.json"] = manifest_bytes(manifest)
    output = Path(output)
    write_zip(output, members, comment=_comment(bundle_key(job_dir, job=job)))
    digest, size = file_sha256(output)
    return BundleManifest(path=output, size=size, sha256=digest, manifest=manifest)


def read_manifest(bundle: Path) -> dict[str, Any]:
    """The manifest.json of a written bundle."""
    with zipfile.ZipFile(bundle) as archive:
        data: dict[str, Any] = json.loads(archive.read("manifest.json"))
    return data


def bundle_key(job_dir: Path, *, job: dict[str, Any] | None = None) -> str:
    """sha256 of everything a bundle is made of: the folder's export and run files, the packaged C++ and guide,
    the versions and the job record. Equal keys give byte-identical bundles."""
    job_dir = Path(job_dir)
    sources = [p for key in exported_model_keys(job_dir) for p in job_export_paths(job_dir, key).existing()]
    sources += [job_dir / name for name in _RUN_FILES if (job_dir / name).is_file()]
    sources += [*frontend_headers(), GUIDE, EXAMPLE]
    digest = hashlib.sha256(f"bundle {BUNDLE_FORMAT_VERSION} mltrain {mltrain_version()}\n".encode())
    for path in sources:
        sha, size = file_sha256(path) if path.is_file() else ("missing", 0)
        digest.update(f"{path.name} {size} {sha}\n".encode())
    digest.update(json.dumps(job or {}, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def cached_bundle(job_dir: Path, *, job: dict[str, Any] | None = None) -> BundleManifest:
    """`job_dir/plugin-models.zip`, rebuilt only when its inputs changed (the zip comment holds bundle_key)."""
    job_dir = Path(job_dir)
    target = job_dir / BUNDLE_NAME
    comment = _comment(bundle_key(job_dir, job=job))
    if target.is_file():
        try:
            with zipfile.ZipFile(target) as archive:
                if archive.comment == comment:
                    manifest: dict[str, Any] = json.loads(archive.read("manifest.json"))
                    digest, size = file_sha256(target)
                    return BundleManifest(path=target, size=size, sha256=digest, manifest=manifest)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            pass  # a damaged cache entry is rebuilt
    return build_bundle(job_dir, target, job=job)


def _comment(key: str) -> bytes:
    return f"mltrain plugin bundle {key}".encode()
