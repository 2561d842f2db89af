"""Export to RTNeural JSON (with golden vectors and a ModelT header), an independent reference forward pass,
parity verification and reverse import."""

from ml.export.cpp_types import cpp_type_name, modelt_header
from ml.export.document import load_rtneural, validate_document
from ml.export.files import ExportPaths, export_paths, job_export_paths, read_golden, write_export
from ml.export.golden import check_golden, golden_vectors
from ml.export.importer import model_from_rtneural
from ml.export.reference import reference_forward
from ml.export.rtneural import EXPORT_FORMAT_VERSION, export_rtneural, weights_sha256, write_rtneural
from ml.export.selfcheck import DocumentReport, check_document
from ml.export.state import state_independent
from ml.export.verify import ParityReport, export_checkpoint, verify_rtneural

__all__ = [
    "EXPORT_FORMAT_VERSION",
    "DocumentReport",
    "ExportPaths",
    "ParityReport",
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
