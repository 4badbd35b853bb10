"""Offline KPIs, with the same definitions as the live dashboard (services.scoring.kpis).

Trend rule: total the value per period (weekly when the data spans 8 weeks or more, else daily),
fit a least-squares line through the period totals, and express the line's change over the whole
span relative to the mean period total. Above +5 % is "increasing", below -5 % "decreasing",
otherwise "stable"; fewer than 3 periods is always "stable".
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from services.scoring.kpis import volatility_pct

TREND_THRESHOLD = 0.05


def _round(x, digits=2):
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else round(float(x), digits)


def period_of(times: pd.Series) -> str:
    span = times.max() - times.min()
    return "W" if span >= pd.Timedelta(weeks=8) else "D"


def period_keys(times: pd.Series, period: str) -> np.ndarray:
    """datetime64 bucket per row (week or day); numpy unit casts are ~10x faster than to_period."""
    naive = times.dt.tz_localize(None).to_numpy()
    return naive.astype("datetime64[W]" if period == "W" else "datetime64[D]")


def period_totals(df: pd.DataFrame, mapping) -> tuple[str, pd.Series]:
    """('W' or 'D', the value summed per period): shared by the KPIs (trend) and the time chart."""
    times = df[mapping.time]
    period = period_of(times)
    return period, df[mapping.values[0]].astype(float).groupby(period_keys(times, period)).sum()


def trend_of(totals: np.ndarray) -> tuple[str, float]:
    """('increasing'|'stable'|'decreasing', relative change over the span) for period totals."""
    totals = np.asarray(totals, dtype=float)
    if len(totals) < 3 or totals.mean() == 0:
        return "stable", 0.0
    x = np.arange(len(totals))
    slope = np.polyfit(x, totals, 1)[0]
    change = slope * (len(totals) - 1) / abs(totals.mean())
    if change > TREND_THRESHOLD:
        return "increasing", change
    if change < -TREND_THRESHOLD:
        return "decreasing", change
    return "stable", change


def compute_kpis(df: pd.DataFrame, mapping, totals: tuple[str, pd.Series] | None = None) -> dict:
    value = df[mapping.values[0]].astype(float)
    times = df[mapping.time]
    count = int(value.notna().sum())
    mean = value.mean()
    std = value.std(ddof=1) if count > 1 else 0.0
    holiday_avg = None
    if mapping.flag:
        flag = df[mapping.flag].fillna(False).astype(bool)
        holiday_avg = value[flag].mean() if flag.any() else None
    period, per_period = totals or period_totals(df, mapping)
    trend, change = trend_of(per_period.to_numpy())
    first, last = times.min(), times.max()
    return {
        "value_column": mapping.values[0],
        "average": _round(mean), "max": _round(value.max()), "min": _round(value.min()),
        "volatility": _round(volatility_pct(std, mean)),
        "holiday_average": _round(holiday_avg), "count": count,
        "first": first.isoformat(), "last": last.isoformat(), "days": int((last - first).days) + 1,
        "trend": trend, "trend_change_pct": _round(change * 100), "period": "week" if period == "W" else "day",
        "date_format": df.attrs.get("date_format"),    # how the file writes dates (set by load_csv)
    }
