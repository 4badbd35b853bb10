"""Rolling KPIs over a time window, exact over every event in it (never sampled).

Each micro-batch is reduced to a small summary (count, mean, M2, max, min, holiday sum/count,
anomalies); the window is the deque of summaries of the batches that arrived in the last
`window_seconds`. Summaries combine exactly (Chan et al.'s parallel variance), so the KPIs equal
what a full pass over the window's events would give, at a cost per publish proportional to the
number of batches rather than events.

Volatility is defined once here and used by the live dashboard and the offline analysis alike:
the coefficient of variation of weekly sales, sample standard deviation / |mean| x 100, in percent.
"""
from __future__ import annotations

import math
import time
from collections import deque

import numpy as np
from services.config import Config

RATE_WINDOW_SECONDS = 10.0


def volatility_pct(std: float, mean: float) -> float:
    """Coefficient of variation in percent; 0 when the mean is 0 or there is no spread."""
    if not math.isfinite(std) or mean == 0:
        return 0.0
    return abs(std / mean) * 100.0


def summarize(sales: np.ndarray, holiday: np.ndarray, anomaly: np.ndarray) -> tuple:
    n = len(sales)
    mean = float(sales.mean())
    hol = holiday.astype(bool)
    return (n, mean, float(((sales - mean) ** 2).sum()), float(sales.max()), float(sales.min()),
            int(hol.sum()), float(sales[hol].sum()), int(anomaly.sum()))


def empty_kpis(window_seconds: float) -> dict:
    return {"window_seconds": window_seconds, "event_count": 0, "avg_weekly_sales": None,
            "max_weekly_sales": None, "min_weekly_sales": None, "volatility": 0.0,
            "holiday_avg_sales": None, "events_per_sec": 0.0, "anomaly_count": 0}


def combine(arrivals: np.ndarray, summaries: list, now: float, window_seconds: float, rate_span: float) -> dict:
    """KPIs from batch (or per-second bucket) summaries that arrived at `arrivals`, all inside the window.

    Exact: counts, means and M2s combine with Chan et al.'s parallel formula. `rate_span` is the
    number of seconds `events_per_sec` divides by (at most RATE_WINDOW_SECONDS).
    """
    kpis = empty_kpis(window_seconds)
    if not summaries:
        return kpis
    s = np.array(summaries, dtype=float)
    counts, means, m2 = s[:, 0], s[:, 1], s[:, 2]
    total = counts.sum()
    mean = float((counts * means).sum() / total)
    m2_total = float(m2.sum() + (counts * (means - mean) ** 2).sum())
    std = math.sqrt(m2_total / (total - 1)) if total > 1 else 0.0
    hol_n = s[:, 5].sum()
    recent = arrivals >= now - RATE_WINDOW_SECONDS
    kpis.update(
        event_count=int(total),
        avg_weekly_sales=round(mean, 2),
        max_weekly_sales=round(float(s[:, 3].max()), 2),
        min_weekly_sales=round(float(s[:, 4].min()), 2),
        volatility=round(volatility_pct(std, mean), 2),
        holiday_avg_sales=round(float(s[:, 6].sum() / hol_n), 2) if hol_n else None,
        events_per_sec=round(float(counts[recent].sum()) / max(rate_span, 1e-9), 2),
        anomaly_count=int(s[:, 7].sum()),
    )
    return kpis


class KpiWindow:
    """The window in one process (embedded mode): a deque of (arrival, summary) per micro-batch."""

    def __init__(self, window_seconds: float = Config.kpi_window_seconds, clock=time.monotonic):
        self.window_seconds = window_seconds
        self.clock = clock
        self.started = clock()
        self._batches: deque = deque()   # (arrival, summary)

    def add_summary(self, summary: tuple) -> None:
        self._batches.append((self.clock(), summary))

    def _evict(self, now: float) -> None:
        while self._batches and self._batches[0][0] < now - self.window_seconds:
            self._batches.popleft()

    def compute(self) -> dict:
        now = self.clock()
        self._evict(now)
        arrivals = np.fromiter((b[0] for b in self._batches), float, len(self._batches))
        span = min(RATE_WINDOW_SECONDS, max(now - self.started, 1e-9))
        return combine(arrivals, [b[1] for b in self._batches], now, self.window_seconds, span)
