"""Chart data for the analysis page as plain lists (figures are built in pages/, not here).

Per-period totals with holiday markers, a ranking of the first grouping column, and the value
distribution. Everything is vectorised group-bys, so a 600k-row file takes milliseconds. Periods the
data does not fill (a partial first or last week) are flagged (`complete`), so the chart can say why
their totals are low. A file that
mixes sensor types also gets `by_type`: per type (with its unit) the mean per period, the mean per
group and the distribution, each drawn on its own axis.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from services.analysis.kpis import PERIODS, complete_flags, period_keys, period_of, period_totals
from services.analysis.sensor_types import split_by_type

RANKING_TOP = 20
HISTOGRAM_BINS = 40


def _clean(values) -> list:
    return [None if (isinstance(v, float) and not np.isfinite(v)) else v for v in values]


def _starts(index, period: str) -> list[str]:
    return [str(np.datetime64(p, "m" if period == "H" else "D")) for p in index]


def totals_over_time(df: pd.DataFrame, mapping, totals: tuple | None = None) -> dict:
    period, per_period = totals or period_totals(df, mapping)
    out = {"period": PERIODS[period][0], "start": _starts(per_period.index, period),
           "total": _clean(per_period.round(2).tolist()),
           "complete": complete_flags(df[mapping.time], per_period.index, period).tolist()}
    if mapping.flag:
        keys = period_keys(df[mapping.time], period)
        holiday = df[mapping.flag].fillna(False).astype(bool).groupby(keys).any()
        out["holiday"] = holiday.reindex(per_period.index, fill_value=False).tolist()
    return out


def means_over_time(df: pd.DataFrame, mapping, period: str) -> dict:
    means = df[mapping.values[0]].astype(float).groupby(period_keys(df[mapping.time], period)).mean()
    return {"period": PERIODS[period][0], "start": _starts(means.index, period), "mean": _clean(means.round(3).tolist())}


def by_type(df: pd.DataFrame, mapping, period: str) -> list[dict]:
    """Per sensor type, when the file has more than one: the charts' data in that type's own unit."""
    slices = split_by_type(df, mapping)
    if len(slices) < 2:
        return []
    out = []
    for part in slices:
        rows = df.iloc[part.rows]
        out.append({"label": part.label, "unit": part.unit, "over_time": means_over_time(rows, mapping, period),
                    "ranking": ranking(rows, mapping), "distribution": distribution(rows, mapping)})
    return out


def ranking(df: pd.DataFrame, mapping, top: int = RANKING_TOP) -> dict:
    if not mapping.groups:
        return {"group": None, "labels": [], "total": [], "average": []}
    group = mapping.groups[0]
    stats = df.groupby(group)[mapping.values[0]].agg(["sum", "mean"]).sort_values("sum", ascending=False).head(top)
    return {"group": group, "labels": [str(x) for x in stats.index],
            "total": _clean(stats["sum"].round(2).tolist()), "average": _clean(stats["mean"].round(2).tolist())}


def distribution(df: pd.DataFrame, mapping, bins: int = HISTOGRAM_BINS) -> dict:
    value = df[mapping.values[0]].astype(float).dropna().to_numpy()
    if len(value) == 0:
        return {"edges": [], "counts": []}
    counts, edges = np.histogram(value, bins=bins)
    return {"edges": np.round(edges, 2).tolist(), "counts": counts.tolist()}


def chart_data(df: pd.DataFrame, mapping, totals: tuple | None = None) -> dict:
    period = totals[0] if totals else period_of(df[mapping.time])
    return {"over_time": totals_over_time(df, mapping, totals), "ranking": ranking(df, mapping),
            "distribution": distribution(df, mapping), "by_type": by_type(df, mapping, period)}
