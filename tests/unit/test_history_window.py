"""Selection KPIs over the window from the stream's history (services.history.window), on SQLite and
PostgreSQL: exact against a direct computation over the same events, and only the selection's."""
import math
import statistics

import numpy as np

from services.history.store import SqlHistoryStore
from services.history.writer import HistoryWriter
from services.history.window import window_kpis
from services.scoring.models import Scores

NOW = 1_800_000_000.0


def scores(n: int, anomalies: set[int]) -> Scores:
    flags = np.array([i in anomalies for i in range(n)])
    return Scores(flags, np.zeros(n), np.where(flags, 90, 10), ["CRITICAL" if f else "LOW" for f in flags],
                  [None] * n, np.zeros(n), np.zeros(n), np.zeros(n), 1)


def retail(i: int, store: int, dept: int, sales: float, holiday: int) -> dict:
    return {"profile": "retail", "event_id": f"e{i}", "timestamp": "2027-01-15T08:00:00.000Z", "tenant": "acme",
            "store": store, "dept": dept, "weekly_sales": sales, "temperature": 50.0, "is_holiday": holiday,
            "_received": NOW - 100 + i * 0.5}


def test_window_kpis_are_exact_for_the_selection(database):
    store = SqlHistoryStore(database)
    events = [retail(i, 1 + i % 3, 1 + i % 2, 1000.0 + 37 * i, int(i % 5 == 0)) for i in range(120)]
    old = dict(retail(999, 1, 1, 5e6, 0), _received=NOW - 1000)          # outside the 300 s window
    other = dict(retail(998, 1, 1, 7e6, 0), tenant="other")
    for tenant, batch in (("acme", events + [old]), ("other", [other])):
        HistoryWriter(store).write([(tenant, batch, scores(len(batch), {3, 4, 60}), NOW)])

    got = window_kpis(store, "acme", NOW, 300, stores=(1, 2), depts=(1,))
    chosen = [e for e in events if e["store"] in (1, 2) and e["dept"] == 1]
    sales = [e["weekly_sales"] for e in chosen]
    mean = statistics.fmean(sales)
    holiday = [e["weekly_sales"] for e in chosen if e["is_holiday"]]
    assert got["event_count"] == len(chosen)
    assert got["avg_weekly_sales"] == round(mean, 2)
    assert got["max_weekly_sales"] == max(sales) and got["min_weekly_sales"] == min(sales)
    assert math.isclose(got["volatility"], round(statistics.stdev(sales) / mean * 100, 2), abs_tol=0.011)
    assert got["holiday_avg_sales"] == round(statistics.fmean(holiday), 2)
    assert got["anomaly_count"] == sum(1 for e in chosen if int(e["event_id"][1:]) in {3, 4, 60})
    assert got["events_per_sec"] == round(sum(1 for e in chosen if e["_received"] >= NOW - 10) / 10, 2)
    assert all(type(got[k]) in (int, float) for k in ("event_count", "anomaly_count", "events_per_sec"))
    assert window_kpis(store, "acme", NOW, 300, stores=(42,))["event_count"] == 0
    assert window_kpis(store, "nobody", NOW, 300)["event_count"] == 0
