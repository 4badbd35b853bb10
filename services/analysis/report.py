"""The whole analysis of a parsed file, optionally filtered: what the page and the API show."""
from __future__ import annotations

import numpy as np
import pandas as pd

from services.analysis.anomalies import anomaly_scores, find_anomalies
from services.analysis.charts import chart_data
from services.analysis.errors import AnalysisError
from services.analysis.filters import apply_filters
from services.analysis.kpis import compute_kpis, period_totals
from services.analysis.segments import group_profile, risk_table, segments
from services.analysis.sensor_types import split_by_type


SAMPLE_POINTS = 2000


def _type_labels(rows, mapping) -> tuple[np.ndarray | None, list[dict]]:
    """(the sensor-type label of each row, the types with their units) when the file mixes types."""
    slices = split_by_type(rows, mapping)
    if len(slices) < 2:
        return None, []
    labels = np.empty(len(rows), dtype=object)
    for part in slices:
        labels[part.rows] = part.label
    return labels, [{"label": part.label, "unit": part.unit} for part in slices]


def _sample(rows, mapping, labels) -> dict:
    """Up to 2,000 rows (time, value and type when mixed) as the backdrop of the anomaly scatter."""
    picked = rows.sample(min(SAMPLE_POINTS, len(rows)), random_state=0).sort_values(mapping.time)
    values = picked[mapping.values[0]].astype(float)
    sample = {"time": [t.isoformat() for t in picked[mapping.time]], "value": values.round(2).tolist()}
    if labels is not None:
        sample["type"] = labels[rows.index.get_indexer(picked.index)].tolist()
    return sample


def _anomalies_by_type(labels, flagged: np.ndarray) -> dict:
    if labels is None:
        return {}
    counts = pd.Series(flagged).groupby(labels).sum()
    return {str(label): int(n) for label, n in counts.items()}


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
    """The model part: anomalies (IsolationForest over every row, counted per sensor type when the file
    mixes types), segments and risk."""
    rows, lines = _filtered(parsed, groups, start, end)
    mapping = parsed.mapping
    scored = anomaly_scores(rows, mapping)
    labels, types = _type_labels(rows, mapping)
    anomalies = find_anomalies(rows, mapping, lines, scored=scored, types=labels)
    anomalies["by_type"] = _anomalies_by_type(labels, scored[1])
    result = {"anomalies": anomalies, "sample": _sample(rows, mapping, labels), "segments": [], "risk": [],
              "types": types}
    if mapping.groups:
        stats = group_profile(rows, mapping, scored[1])
        label = str(mapping.groups[0]).lower().replace("_", " ")
        result["segments"] = segments(stats, label)
        result["risk"] = risk_table(stats)
    return result


def analyze(parsed, groups=None, start=None, end=None) -> dict:
    """Everything for the rows that pass the filters: summarize() and detail() together."""
    return {**summarize(parsed, groups, start, end), **detail(parsed, groups, start, end)}
