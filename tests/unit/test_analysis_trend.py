"""The trend headline: means of complete periods, said in words; partial periods never fake a trend."""
import numpy as np
import pandas as pd
import pytest

from services.analysis import Mapping, compute_kpis, load_csv
from services.analysis.kpis import NOT_ENOUGH, complete_period_means, trend_summary

DAILY = Mapping("date", ("value",))


def daily(values, start="2010-01-15") -> pd.DataFrame:
    """One row per day from `start` (a Friday: the first week is partial, and so is the last)."""
    times = pd.date_range(start, periods=len(values), freq="D", tz="UTC")
    return pd.DataFrame({"date": times, "value": np.asarray(values, dtype=float)})


def test_flat_daily_year_with_partial_first_and_last_periods_is_flat():
    df = daily(np.full(340, 100.0))                       # 2010-01-15 (Fri) .. 2010-12-20 (Mon)
    kpis = compute_kpis(df, DAILY)
    assert kpis["trend"] == "flat" and kpis["trend_change_pct"] == pytest.approx(0.0, abs=0.01)
    assert kpis["trend_basis"].startswith("Trend of weekly means, 2010-01-21 – 2010-12-15")
    assert "(47 complete weeks)" in kpis["trend_basis"] and kpis["trend_periods"] == 47


def test_totals_would_have_called_the_flat_year_a_trend():
    """The old rule (totals per period, partial weeks included) is what read "+8.87 %" on flat data."""
    df = daily(np.full(340, 100.0))
    totals = df.groupby(df["date"].dt.tz_localize(None).to_numpy().astype("datetime64[W]"))["value"].sum()
    slope = np.polyfit(np.arange(len(totals)), totals.to_numpy(), 1)[0]
    assert abs(slope * (len(totals) - 1) / totals.mean()) > 0.005     # a slope out of nothing
    assert compute_kpis(df, DAILY)["trend"] == "flat"


def test_noisy_flat_data_is_flat_and_a_real_rise_is_increasing():
    rng = np.random.default_rng(3)
    assert compute_kpis(daily(100 + rng.normal(0, 5, 365)), DAILY)["trend"] == "flat"
    rising = compute_kpis(daily(np.linspace(100, 130, 365) + rng.normal(0, 2, 365)), DAILY)
    assert rising["trend"] == "increasing" and 20 < rising["trend_change_pct"] < 40
    falling = compute_kpis(daily(np.linspace(130, 100, 365)), DAILY)
    assert falling["trend"] == "decreasing"


def test_too_few_periods_say_not_enough_data():
    hours = pd.date_range("2024-01-01 10:00", periods=3, freq="h", tz="UTC")
    summary = trend_summary(pd.Series(hours), pd.Series([1.0, 2.0, 3.0]))      # 3 hourly periods, all complete
    assert summary["trend"] == "increasing"
    two = trend_summary(pd.Series(hours[:2]), pd.Series([1.0, 5.0]))
    assert two["trend"] == NOT_ENOUGH and two["trend_change_pct"] is None
    assert two["trend_basis"] == "Not enough data for a trend: it needs at least 3 complete hours, this selection has 2."


def test_weekly_rows_fill_their_weeks_and_daily_rows_from_midweek_do_not():
    fridays = pd.Series(pd.date_range("2010-02-05", periods=20, freq="7D", tz="UTC"))
    means, rows = complete_period_means(fridays, pd.Series(np.ones(20)), "W")
    assert len(means) == 20 and rows.all()                # one sample a week is a complete week
    days = pd.Series(pd.date_range("2010-02-05", periods=70, freq="D", tz="UTC"))
    means, rows = complete_period_means(days, pd.Series(np.ones(70)), "W")
    assert len(means) == 9 and not rows[0] and not rows[-1]


def test_the_trend_of_an_uploaded_file_names_its_basis(tmp_path):
    path = tmp_path / "flat.csv"
    days = pd.date_range("2010-02-05", "2010-12-20", freq="D")
    path.write_text("Date,Sales\n" + "".join(f"{d:%Y-%m-%d},250\n" for d in days))
    kpis = compute_kpis(load_csv(path).df, load_csv(path).mapping)
    assert kpis["trend"] == "flat" and "weekly means" in kpis["trend_basis"] and "complete weeks" in kpis["trend_basis"]


def test_periods_without_rows_are_gaps_in_time_not_steps():
    """Monthly rows on weekly periods: the line is fitted on when each mean happened."""
    times = pd.Series(pd.to_datetime(["2010-01-07", "2010-02-04", "2010-03-04", "2010-10-07", "2010-11-04"], utc=True))
    values = pd.Series([100.0, 100.0, 100.0, 200.0, 200.0])       # a step late in the year
    on_time = trend_summary(times, values, "W")
    assert on_time["trend"] == "increasing" and on_time["trend_periods"] == 5
    from services.analysis.kpis import trend_of
    assert trend_of(values.to_numpy())[1] != pytest.approx(on_time["trend_change_pct"] / 100)


def test_the_time_chart_flags_its_partial_periods():
    from services.analysis.charts import totals_over_time
    chart = totals_over_time(daily(np.full(340, 100.0)), DAILY)
    assert chart["period"] == "week" and chart["complete"][0] is False and chart["complete"][-1] is False
    assert all(chart["complete"][1:-1]) and chart["total"][1] == 700.0 and chart["total"][0] < 700.0
