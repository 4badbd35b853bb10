"""KPIs of a selection (some stores/depts, or assets/sensors) over the rolling window, from the raw history.

The live KPI cards of an unfiltered dashboard come from the pipeline's own window (services.scoring.kpis);
a filtered one needs the same figures for its selection only. They are exact over every event of the
selection received in the window: summed with array operations over the blocks touching the window
(services.history.raw; a store's or an asset's own blocks when the selection names some), computed once
per distinct selection per refresh, whatever the number of sockets showing it. What the history writer
has not written yet (up to about a second) is not in it.
"""
from __future__ import annotations

import math

import numpy as np

from services.history.query import HistoryQuery
from services.history.scopes import RETAIL, SENSOR
from services.history.store import SqlHistoryStore
from services.scoring.kpis import RATE_WINDOW_SECONDS, empty_kpis, volatility_pct


def window_kpis(store: SqlHistoryStore, tenant: str, now: float, window_seconds: float, stores=(), depts=(),
                assets=(), sensors=()) -> dict:
    query = HistoryQuery(now - window_seconds, now, "raw", "received", SENSOR if assets or sensors else RETAIL,
                         tuple(sorted(stores)), tuple(sorted(depts)), tuple(sorted(assets)), tuple(sorted(sensors)))
    n = recent = holidays = anomalies = 0
    total = squares = holiday_total = 0.0
    high, low = -math.inf, math.inf
    for chunk in store.raw.chunks(tenant, query, ordered=False, fields=("received", "value", "is_holiday", "anomaly")):
        value = chunk["value"]
        n += len(value)
        total += float(value.sum())
        squares += float(np.dot(value, value))
        high, low = max(high, float(value.max())), min(low, float(value.min()))
        if "is_holiday" in chunk:
            holiday = chunk["is_holiday"] == 1
            holidays += int(holiday.sum())
            holiday_total += float(value[holiday].sum())
        anomalies += int(chunk["anomaly"].sum())
        recent += int((chunk["received"] >= now - RATE_WINDOW_SECONDS).sum())
    kpis = empty_kpis(window_seconds)
    if not n:
        return kpis
    mean = total / n
    variance = max(0.0, (squares - n * mean * mean) / (n - 1)) if n > 1 else 0.0
    kpis.update(event_count=n, avg_weekly_sales=round(mean, 2), max_weekly_sales=round(high, 2),
                min_weekly_sales=round(low, 2), volatility=round(volatility_pct(math.sqrt(variance), mean), 2),
                holiday_avg_sales=round(holiday_total / holidays, 2) if holidays else None,
                events_per_sec=round(recent / RATE_WINDOW_SECONDS, 2), anomaly_count=anomalies)
    return kpis
