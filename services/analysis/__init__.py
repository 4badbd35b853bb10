"""Offline analysis of uploaded CSV files: understand the file, validate it, compute KPIs.

Pure pandas/numpy (no Dash). Entry points: `load_csv(path, limits, mapping)` -> ParsedCsv and
`compute_kpis(parsed)`; every problem with the input raises `AnalysisError` with a code, a message
that names the problem (and line numbers where possible) and the HTTP status an API should use.
"""
from services.analysis.anomalies import find_anomalies
from services.analysis.errors import AnalysisError
from services.analysis.kpis import compute_kpis, trend_of
from services.analysis.limits import Limits
from services.analysis.parse import ParsedCsv, load_csv
from services.analysis.profiles import Mapping, suggest_mapping
from services.analysis.report import analyze, detail, summarize

__all__ = ["analyze", "detail", "summarize", "AnalysisError", "Limits", "Mapping", "ParsedCsv", "compute_kpis", "find_anomalies", "load_csv",
           "suggest_mapping", "trend_of"]
