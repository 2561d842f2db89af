"""Export to RTNeural JSON, an independent reference forward pass, parity verification and reverse import."""

from ml.export.document import load_rtneural, validate_document
from ml.export.importer import model_from_rtneural
from ml.export.reference import reference_forward
from ml.export.rtneural import EXPORT_FORMAT_VERSION, export_rtneural, weights_sha256, write_rtneural
from ml.export.selfcheck import DocumentReport, check_document
from ml.export.verify import ParityReport, export_checkpoint, verify_rtneural

__all__ = [
    "EXPORT_FORMAT_VERSION",
    "DocumentReport",
    "ParityReport",
    "check_document",
    "export_checkpoint",
    "export_rtneural",
    "load_rtneural",
    "model_from_rtneural",
    "reference_forward",
    "validate_document",
    "verify_rtneural",
    "weights_sha256",
    "write_rtneural",
]
