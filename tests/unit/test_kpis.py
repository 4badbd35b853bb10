"""Rolling KPIs equal a full pass over the window's events, and the window really rolls."""
import numpy as np
import pytest

from services.scoring.kpis import KpiWindow, summarize, volatility_pct


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_kpis_are_exact_over_all_events():
    rng = np.random.default_rng(0)
    clock = FakeClock()
    window = KpiWindow(300, clock=clock)
    batches = []
    for _ in range(50):
        n = int(rng.integers(1, 1000))
        sales = rng.lognormal(9.6, 0.6, n) * rng.choice([-1, 1], n, p=[0.01, 0.99])
        hol = rng.random(n) < 0.1
        anom = rng.random(n) < 0.02
        window.add_summary(summarize(sales, hol, anom))
        batches.append((sales, hol, anom))
        clock.now += 0.05
    k = window.compute()
    sales = np.concatenate([b[0] for b in batches])
    hol = np.concatenate([b[1] for b in batches])
    anom = np.concatenate([b[2] for b in batches])
    assert k["event_count"] == len(sales)
    assert k["avg_weekly_sales"] == pytest.approx(sales.mean(), abs=0.01)
    assert k["max_weekly_sales"] == pytest.approx(sales.max(), abs=0.01)
    assert k["min_weekly_sales"] == pytest.approx(sales.min(), abs=0.01)
    assert k["volatility"] == pytest.approx(sales.std(ddof=1) / abs(sales.mean()) * 100, abs=0.01)
    assert k["holiday_avg_sales"] == pytest.approx(sales[hol].mean(), abs=0.01)
    assert k["anomaly_count"] == int(anom.sum())


def test_window_evicts_old_batches_and_rate_counts_recent_events():
    clock = FakeClock()
    window = KpiWindow(60, clock=clock)
    window.add_summary(summarize(np.array([100.0, 300.0]), np.zeros(2), np.zeros(2)))
    clock.now += 30
    window.add_summary(summarize(np.array([1000.0]), np.ones(1), np.ones(1)))
    k = window.compute()
    assert k["event_count"] == 3 and k["max_weekly_sales"] == 1000.0
    assert k["events_per_sec"] == pytest.approx(1 / 10)   # only the last batch is within 10 s
    clock.now += 40                                        # the first batch is now 70 s old
    k = window.compute()
    assert k["event_count"] == 1 and k["avg_weekly_sales"] == 1000.0 and k["holiday_avg_sales"] == 1000.0
    clock.now += 100
    k = window.compute()
    assert k["event_count"] == 0 and k["avg_weekly_sales"] is None and k["events_per_sec"] == 0.0


def test_volatility_definition():
    assert volatility_pct(10.0, 100.0) == 10.0
    assert volatility_pct(10.0, -100.0) == 10.0
    assert volatility_pct(5.0, 0.0) == 0.0


def test_no_holiday_events_means_no_holiday_average():
    window = KpiWindow(60, clock=FakeClock())
    window.add_summary(summarize(np.array([1.0, 2.0]), np.zeros(2), np.zeros(2)))
    assert window.compute()["holiday_avg_sales"] is None
