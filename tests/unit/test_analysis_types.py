"""A sensor file mixing types: KPIs, charts, anomalies and risk per type, each in its own unit."""
import numpy as np
import pytest

from services.analysis import analyze, load_csv
from services.analysis.export import export_kpis_csv
from services.analysis.sensor_types import split_by_type
from services.simulation.sensor import generate_sensor_csv


@pytest.fixture(scope="module")
def sensors(tmp_path_factory):
    return load_csv(generate_sensor_csv(tmp_path_factory.mktemp("s") / "sensors.csv", assets=4, hours=24 * 6))


def test_kpis_come_per_type_with_units_and_never_across_units(sensors):
    kpis = analyze(sensors)["kpis"]
    assert kpis["mixed_units"] and kpis["average"] is None and kpis["max"] is None and kpis["trend"] is None
    assert kpis["count"] == 4 * 4 * 24 * 6                                       # rows still counted
    by_label = {kind["label"]: kind for kind in kpis["by_type"]}
    assert set(by_label) == {"current (A)", "pressure (bar)", "temperature (°C)", "vibration (mm/s)"}
    df = sensors.df
    temperature = df.loc[df["sensor_type"] == "temperature", "value"]
    kind = by_label["temperature (°C)"]
    assert (kind["unit"], kind["count"]) == ("°C", len(temperature))
    assert kind["average"] == pytest.approx(temperature.mean(), abs=0.01)
    assert (kind["min"], kind["max"]) == (pytest.approx(temperature.min(), abs=0.01), pytest.approx(temperature.max(), abs=0.01))
    assert kind["trend"] == "flat" and "daily means" in kind["trend_basis"]


def test_charts_anomalies_and_risk_are_split_by_type(sensors):
    report = analyze(sensors)
    charts = report["charts"]["by_type"]
    assert [c["label"] for c in charts] == [k["label"] for k in report["kpis"]["by_type"]]
    assert all(len(c["over_time"]["mean"]) == 6 for c in charts)                  # six days, one mean each
    temperature = next(c for c in charts if c["unit"] == "°C")
    assert 40 < np.mean(temperature["over_time"]["mean"]) < 90                    # °C, not averaged with bar
    assert sum(report["anomalies"]["by_type"].values()) == report["anomalies"]["count"]
    assert all(a["type"] in report["anomalies"]["by_type"] for a in report["anomalies"]["top"])
    assert {t["unit"] for t in report["types"]} == {"A", "bar", "°C", "mm/s"}
    assert set(report["sample"]["type"]) == set(report["anomalies"]["by_type"])
    assert all(" · " in row["group"] and row["type"] in row["group"] for row in report["risk"])


def test_the_kpi_export_has_a_row_per_type_and_kpi(sensors):
    text = export_kpis_csv(analyze(sensors)["kpis"])
    assert '"temperature (°C) average",' in text and '"vibration (mm/s) trend","flat"' in text


def test_one_type_or_no_type_column_changes_nothing(tmp_path):
    path = tmp_path / "one.csv"
    path.write_text("timestamp,asset_id,sensor_type,value,unit\n" + "".join(
        f"2026-01-01T{h:02d}:00:00Z,pump-1,temperature,{40 + h % 3},°C\n" for h in range(24)))
    parsed = load_csv(path)
    kpis = analyze(parsed)["kpis"]
    assert not kpis["mixed_units"] and kpis["average"] == pytest.approx(41.0, abs=0.05)
    assert [k["label"] for k in kpis["by_type"]] == ["temperature (°C)"]
    assert analyze(parsed)["charts"]["by_type"] == []                            # one type: the plain charts
    retail = tmp_path / "r.csv"
    retail.write_text("Store,Dept,Date,Weekly_Sales\n1,1,2010-02-05,10\n1,2,2010-02-12,20\n")
    assert split_by_type(load_csv(retail).df, load_csv(retail).mapping) == []
