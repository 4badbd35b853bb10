"""Offline KPIs, with the same definitions as the live dashboard (services.scoring.kpis).

Trend rule: bucket the rows into periods (weekly when the data spans 8 weeks or more, daily when it
spans 3 days or more, else hourly), keep only the *complete* periods, take the *mean* value of each,
fit a least-squares line through those means and express the line's change over the span relative
to their average. Above +5 % is "increasing", below -5 % "decreasing", otherwise "flat"; fewer than 3
complete periods is "not enough data". Totals would make a partial first or last period look like a
rise or a fall (a flat year of daily data starting on a Friday read "+8.87 %"); means of complete
periods compare like with like. A period is complete when the data does not start later in it, nor
end earlier, than one sampling step (the median gap between distinct times): weekly rows on Fridays
fill their weeks, daily rows starting on a Saturday do not fill that week. `trend_basis` says in words
what the trend was computed on, and the page shows it.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from services.analysis.sensor_types import split_by_type
from services.scoring.kpis import volatility_pct

TREND_THRESHOLD = 0.05
MIN_TREND_PERIODS = 3
NOT_ENOUGH = "not enough data"
# period code -> (noun, adjective, numpy unit)
PERIODS = {"W": ("week", "weekly", "W"), "D": ("day", "daily", "D"), "H": ("hour", "hourly", "h")}


def _round(x, digits=2):
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else round(float(x), digits)


def period_of(times: pd.Series) -> str:
    span = times.max() - times.min()
    return "W" if span >= pd.Timedelta(weeks=8) else ("D" if span >= pd.Timedelta(days=3) else "H")


def period_keys(times: pd.Series, period: str) -> np.ndarray:
    """datetime64 bucket per row (week, day or hour); numpy unit casts are ~10x faster than to_period."""
    naive = times.dt.tz_localize(None).to_numpy()
    return naive.astype(f"datetime64[{PERIODS[period][2]}]")


def period_totals(df: pd.DataFrame, mapping) -> tuple[str, pd.Series]:
    """(period code, the value summed per period): the time chart of additive values (sales)."""
    times = df[mapping.time]
    period = period_of(times)
    return period, df[mapping.values[0]].astype(float).groupby(period_keys(times, period)).sum()


def trend_of(values, positions=None) -> tuple[str, float | None]:
    """('increasing'|'flat'|'decreasing', relative change over the span), or ('not enough data', None)
    for fewer than 3 values. Values are comparable per-period figures (means of complete periods);
    `positions` places them in time (period numbers), so a period without rows is a gap, not a step."""
    values = np.asarray(values, dtype=float)
    positions = np.arange(len(values), dtype=float) if positions is None else np.asarray(positions, dtype=float)
    finite = np.isfinite(values)
    values, positions = values[finite], positions[finite]
    if len(values) < MIN_TREND_PERIODS:
        return NOT_ENOUGH, None
    if values.mean() == 0:
        return "flat", 0.0
    slope = np.polyfit(positions, values, 1)[0]
    change = float(slope * (positions[-1] - positions[0]) / abs(values.mean()))
    if change > TREND_THRESHOLD:
        return "increasing", change
    if change < -TREND_THRESHOLD:
        return "decreasing", change
    return "flat", change


def _sampling_step(times: np.ndarray) -> np.timedelta64:
    distinct = np.unique(times)
    return np.median(np.diff(distinct)) if len(distinct) > 1 else np.timedelta64(0, "ns")


def complete_flags(times: pd.Series, period_index, period: str) -> np.ndarray:
    """Per period of `period_index` (sorted datetime64 keys of the periods that have rows): whether the
    data fills it. Only the first and the last can be partial."""
    keep = np.ones(len(period_index), dtype=bool)
    if not len(period_index):
        return keep
    naive = times.dt.tz_localize(None).to_numpy()
    step = _sampling_step(naive)
    first_start = np.datetime64(period_index[0], "ns")
    last_end = np.datetime64(np.datetime64(period_index[-1]) + np.timedelta64(1, PERIODS[period][2]), "ns")
    if naive.min() - first_start >= step:            # started after the first sample slot of its period
        keep[0] = False
    if last_end - naive.max() > step:                # ended before the last sample slot of its period
        keep[-1] = False
    return keep


def complete_period_means(times: pd.Series, values: pd.Series, period: str) -> tuple[pd.Series, np.ndarray]:
    """(mean value per complete period, the rows inside those periods as a boolean mask)."""
    keys = period_keys(times, period)
    means = values.astype(float).groupby(keys).mean()
    if means.empty:
        return means, np.zeros(len(times), dtype=bool)
    complete = means[complete_flags(times, means.index, period)]
    rows = np.isin(keys, complete.index.to_numpy()) if len(complete) else np.zeros(len(times), dtype=bool)
    return complete, rows


def _when(moment: pd.Timestamp, period: str) -> str:
    return moment.strftime("%Y-%m-%d %H:%M" if period == "H" else "%Y-%m-%d")


def trend_summary(times: pd.Series, values: pd.Series, period: str | None = None) -> dict:
    """The trend of comparable periods and, in words, what it was computed on."""
    period = period or period_of(times)
    noun, adjective, _ = PERIODS[period]
    means, rows = complete_period_means(times, values, period)
    keys = means.index.to_numpy()
    positions = (keys - keys[0]) / np.timedelta64(1, PERIODS[period][2]) if len(keys) else None
    trend, change = trend_of(means.to_numpy(), positions)
    n = len(means)
    if trend == NOT_ENOUGH:
        basis = (f"Not enough data for a trend: it needs at least {MIN_TREND_PERIODS} complete {noun}s, "
                 f"this selection has {n}.")
    else:
        inside = times[rows]
        basis = (f"Trend of {adjective} means, {_when(inside.min(), period)} – {_when(inside.max(), period)} "
                 f"({n} complete {noun}s)")
    return {"trend": trend, "trend_change_pct": _round(None if change is None else change * 100),
            "trend_basis": basis, "trend_periods": n}


def value_kpis(values: pd.Series) -> dict:
    """Average, max, min, volatility and count of one value series (one unit)."""
    values = values.astype(float)
    count = int(values.notna().sum())
    mean = values.mean()
    std = values.std(ddof=1) if count > 1 else 0.0
    return {"average": _round(mean), "max": _round(values.max()), "min": _round(values.min()),
            "volatility": _round(volatility_pct(std, mean)), "count": count}


def kpis_by_type(df: pd.DataFrame, mapping, period: str) -> list[dict]:
    """Per sensor type (and unit): the value KPIs and the trend, on the file's period."""
    value, times = df[mapping.values[0]], df[mapping.time]
    return [{"label": part.label, "type": part.type, "unit": part.unit,
             **value_kpis(value.iloc[part.rows]), **trend_summary(times.iloc[part.rows], value.iloc[part.rows], period)}
            for part in split_by_type(df, mapping)]


def compute_kpis(df: pd.DataFrame, mapping, totals: tuple[str, pd.Series] | None = None) -> dict:
    """The file's KPIs. `by_type` holds one entry per sensor type (with its unit) when the file has a
    type column; with several types the whole-file value KPIs are None: a mean of °C and bar means nothing."""
    value = df[mapping.values[0]].astype(float)
    times = df[mapping.time]
    period = totals[0] if totals else period_of(times)
    holiday_avg = None
    if mapping.flag:
        flag = df[mapping.flag].fillna(False).astype(bool)
        holiday_avg = value[flag].mean() if flag.any() else None
    by_type = kpis_by_type(df, mapping, period)
    first, last = times.min(), times.max()
    kpis = {"value_column": mapping.values[0], **value_kpis(value), "holiday_average": _round(holiday_avg),
            "first": first.isoformat(), "last": last.isoformat(), "days": int((last - first).days) + 1,
            **trend_summary(times, value, period), "period": PERIODS[period][0],
            "date_format": df.attrs.get("date_format"),    # how the file writes dates (set by load_csv)
            "by_type": by_type, "mixed_units": len(by_type) > 1}
    if kpis["mixed_units"]:
        kpis.update(average=None, max=None, min=None, volatility=None, holiday_average=None, trend=None,
                    trend_change_pct=None, trend_periods=None,
                    trend_basis=f"{len(by_type)} sensor types with their own units: each has its own trend.")
    return kpis
