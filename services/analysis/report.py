"""The whole analysis of a parsed file, optionally filtered: what the page and the API show."""
from __future__ import annotations

import numpy as np

from services.analysis.anomalies import anomaly_scores, find_anomalies
from services.analysis.charts import chart_data
from services.analysis.errors import AnalysisError
from services.analysis.filters import apply_filters
from services.analysis.kpis import compute_kpis, period_totals
from services.analysis.segments import group_profile, risk_table, segments


SAMPLE_POINTS = 2000


def _sample(rows, mapping) -> dict:
    """Up to 2,000 rows (time, value) as the backdrop of the anomaly scatter."""
    picked = rows.sample(min(SAMPLE_POINTS, len(rows)), random_state=0).sort_values(mapping.time)
    values = picked[mapping.values[0]].astype(float)
    return {"time": [t.isoformat() for t in picked[mapping.time]], "value": values.round(2).tolist()}


def _filtered(parsed, groups, start, end):
    df, mapping = parsed.df, parsed.mapping
    rows = apply_filters(df, mapping, groups, start, end)
    if rows.empty:
        raise AnalysisError("no_rows", "No rows match these filters; widen the date range or pick more groups.", 422)
    lines = parsed.line_of_row[df.index.get_indexer(rows.index)] if len(rows) != len(df) else parsed.line_of_row
    return rows.reset_index(drop=True), np.asarray(lines)


def summarize(parsed, groups=None, start=None, end=None) -> dict:
    """The fast part (vectorised group-bys): row count, KPIs and chart data."""
    rows, _ = _filtered(parsed, groups, start, end)
    totals = period_totals(rows, parsed.mapping)
    return {"rows": len(rows), "kpis": compute_kpis(rows, parsed.mapping, totals),
            "charts": chart_data(rows, parsed.mapping, totals)}


def detail(parsed, groups=None, start=None, end=None) -> dict:
    """The model part: anomalies (IsolationForest over every row), segments and risk."""
    rows, lines = _filtered(parsed, groups, start, end)
    mapping = parsed.mapping
    scored = anomaly_scores(rows, mapping)
    result = {"anomalies": find_anomalies(rows, mapping, lines, scored=scored), "sample": _sample(rows, mapping),
              "segments": [], "risk": []}
    if mapping.groups:
        stats = group_profile(rows, mapping, scored[1])
        label = str(mapping.groups[0]).lower().replace("_", " ")
        result["segments"] = segments(stats, label)
        result["risk"] = risk_table(stats)
    return result


def analyze(parsed, groups=None, start=None, end=None) -> dict:
    """Everything for the rows that pass the filters: summarize() and detail() together."""
    return {**summarize(parsed, groups, start, end), **detail(parsed, groups, start, end)}
