"""Export to the ONNX contract v1, validate models against it, check parity, measure latency.

Public API (docs/contract.md):

- :func:`validate_model` / :func:`check_model` — the contract validator third parties call.
- :func:`export_model` — any contract-conforming ``nn.Module`` to ``model.onnx`` (+ variants).
- :func:`check_parity` — PyTorch vs ONNX Runtime, per horizon, batch 1 and 64.
- :func:`measure_latency` — single-thread ONNX Runtime p50/p99.
- :func:`summarize` — reference decoding of probs/edges (mean, quantiles, P(up), P(down)).
"""

from ash.export.contract import CONTRACT_VERSION, OUTER_EDGE_BPS
from ash.export.decode import Summary, summarize
from ash.export.exporter import ExportError, ExportResult, export_model
from ash.export.latency import measure_latency
from ash.export.parity import ParityError, ParityReport, check_parity
from ash.export.validate import check_model, validate_model
from ash.export.violations import ContractViolationError, Violation

__all__ = [
    "CONTRACT_VERSION",
    "OUTER_EDGE_BPS",
    "ContractViolationError",
    "ExportError",
    "ExportResult",
    "ParityError",
    "ParityReport",
    "Summary",
    "Violation",
    "check_model",
    "check_parity",
    "export_model",
    "measure_latency",
    "summarize",
    "validate_model",
]
