"""The one formatting module (components/formats.py): what every page shows for numbers, money, shares,
durations and column names."""
import math

from components import formats as f


def test_numbers_money_and_percentages():
    assert f.number(12345.678) == "12,345.68"
    assert f.number(1200) == "1,200" and f.number(1200.0) == "1,200"
    assert f.number(0.5) == "0.5" and f.number(-0.0001) == "0"
    assert f.number(None) == f.number(math.nan) == f.MISSING
    assert f.money(24924.5) == "24,924.50" and f.money(-3.1, "$") == "-$3.10"
    assert f.percent(0.0163) == "1.63\u00a0%" and f.signed_percent(0.0887) == "+8.87\u00a0%"
    assert f.percent(None) == f.MISSING


def test_durations_counts_and_headers():
    assert [f.duration(s) for s in (0.85, 12.34, 245, 7800, 273600)] == [
        "850\u00a0ms", "12.3\u00a0s", "4\u00a0min 05\u00a0s", "2\u00a0h 10\u00a0min", "3\u00a0d 4\u00a0h"]
    assert f.count(1, "alert") == "1 alert" and f.count(1200, "alert") == "1,200 alerts"
    assert f.header("anomaly_share") == "Anomaly share" and f.header("new_column") == "New column"
