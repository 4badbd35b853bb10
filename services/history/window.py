"""KPIs of a selection (some stores/depts, or assets/sensors) over the rolling window, from the raw history.

The live KPI cards of an unfiltered dashboard come from the pipeline's own window (services.scoring.kpis);
a filtered one needs the same figures for its selection only. They are exact over every event of the
selection received in the window: one aggregate over the (tenant, store, dept, received) or (tenant,
asset, sensor, received) index, computed once per distinct selection per refresh, whatever the number
of sockets showing it. What the history writer has not written yet (up to about a second) is not in it.
"""
from __future__ import annotations

import math

from sqlalchemy import and_, case, func, select

from services.scoring.kpis import RATE_WINDOW_SECONDS, empty_kpis, volatility_pct
from services.storage.db import Database
from services.storage.schema import history_events as events


def window_kpis(db: Database, tenant: str, now: float, window_seconds: float, stores=(), depts=(), assets=(),
                sensors=()) -> dict:
    where = [events.c.tenant == tenant, events.c.received >= now - window_seconds, events.c.received < now,
             events.c.profile == ("sensor" if assets or sensors else "retail")]
    for column, values in ((events.c.store, stores), (events.c.dept, depts), (events.c.asset_id, assets),
                           (events.c.sensor_id, sensors)):
        if values:
            where.append(column.in_(sorted(values)))
    value = events.c.value
    holiday = events.c.is_holiday == 1
    row = db.query(select(
        func.count().label("n"), func.sum(value).label("total"), func.sum(value * value).label("squares"),
        func.max(value).label("high"), func.min(value).label("low"),
        func.sum(case((holiday, 1), else_=0)).label("holidays"), func.sum(case((holiday, value), else_=0)).label("holiday_total"),
        func.sum(events.c.anomaly).label("anomalies"),
        func.sum(case((events.c.received >= now - RATE_WINDOW_SECONDS, 1), else_=0)).label("recent"),
    ).where(and_(*where)))[0]
    kpis = empty_kpis(window_seconds)
    n = int(row["n"] or 0)
    if not n:
        return kpis
    # PostgreSQL sums integers as NUMERIC (Decimal in Python): every figure is made a float or an int here
    total, squares, holidays = float(row["total"]), float(row["squares"]), int(row["holidays"] or 0)
    mean = total / n
    variance = max(0.0, (squares - n * mean * mean) / (n - 1)) if n > 1 else 0.0
    kpis.update(event_count=n, avg_weekly_sales=round(mean, 2), max_weekly_sales=round(float(row["high"]), 2),
                min_weekly_sales=round(float(row["low"]), 2),
                volatility=round(volatility_pct(math.sqrt(variance), mean), 2),
                holiday_avg_sales=round(float(row["holiday_total"]) / holidays, 2) if holidays else None,
                events_per_sec=round(int(row["recent"] or 0) / RATE_WINDOW_SECONDS, 2),
                anomaly_count=int(row["anomalies"] or 0))
    return kpis
