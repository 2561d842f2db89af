"""Export to RTNeural JSON (with golden vectors and a ModelT header), an independent reference forward pass,
parity verification, reverse import and the plugin bundle.

Names are resolved on first use: the document, reference, golden-check and bundle code is numpy-only, so the API
process (which builds bundles) and the CLI's front door can use it without importing PyTorch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ml.export.bundle import BundleManifest, build_bundle
    from ml.export.cpp_types import cpp_type_name, modelt_header
    from ml.export.document import load_rtneural, validate_document, weights_sha256
    from ml.export.files import ExportPaths, export_paths, job_export_paths, read_golden, write_export
    from ml.export.golden import check_golden, golden_vectors
    from ml.export.importer import model_from_rtneural
    from ml.export.reference import reference_forward
    from ml.export.rtneural import EXPORT_FORMAT_VERSION, export_rtneural, write_rtneural
    from ml.export.selfcheck import DocumentReport, check_document
    from ml.export.state import state_independent
    from ml.export.verify import ParityReport, export_checkpoint, verify_rtneural

# public name -> the module that defines it
_MODULES = {
    "BundleManifest": "bundle",
    "build_bundle": "bundle",
    "cpp_type_name": "cpp_types",
    "modelt_header": "cpp_types",
    "load_rtneural": "document",
    "validate_document": "document",
    "weights_sha256": "document",
    "ExportPaths": "files",
    "export_paths": "files",
    "job_export_paths": "files",
    "read_golden": "files",
    "write_export": "files",
    "check_golden": "golden",
    "golden_vectors": "golden",
    "model_from_rtneural": "importer",
    "reference_forward": "reference",
    "EXPORT_FORMAT_VERSION": "rtneural",
    "export_rtneural": "rtneural",
    "write_rtneural": "rtneural",
    "DocumentReport": "selfcheck",
    "check_document": "selfcheck",
    "state_independent": "state",
    "ParityReport": "verify",
    "export_checkpoint": "verify",
    "verify_rtneural": "verify",
}

__all__ = [
    "EXPORT_FORMAT_VERSION",
    "BundleManifest",
    "DocumentReport",
    "ExportPaths",
    "ParityReport",
    "build_bundle",
    "check_document",
    "check_golden",
    "cpp_type_name",
    "export_checkpoint",
    "export_paths",
    "export_rtneural",
    "golden_vectors",
    "job_export_paths",
    "load_rtneural",
    "model_from_rtneural",
    "modelt_header",
    "read_golden",
    "reference_forward",
    "state_independent",
    "validate_document",
    "verify_rtneural",
    "weights_sha256",
    "write_export",
    "write_rtneural",
]


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module 'ml.export' has no attribute {name!r}")
    return getattr(importlib.import_module(f"ml.export.{module}"), name)
