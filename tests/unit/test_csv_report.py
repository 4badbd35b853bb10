"""Analysis report pieces: chart data, filters, segments, risk, safe export."""
import csv
import io

import numpy as np
import pandas as pd
import pytest

from services.analysis import AnalysisError, analyze, load_csv
from services.analysis.export import export_kpis_csv, export_rows_csv
from services.analysis.segments import RISK_WEIGHTS, risk_table


@pytest.fixture
def parsed(tmp_path):
    rng = np.random.default_rng(1)
    rows = []
    for store in range(1, 13):
        level = 1000 if store <= 4 else (5000 if store <= 8 else 20000)
        for week in range(20):
            date = (pd.Timestamp("2024-01-05") + pd.Timedelta(weeks=week)).date()
            value = level * rng.normal(1, 0.05)
            rows.append(f"{store},1,{date},{value:.2f},{'TRUE' if week == 10 else 'FALSE'}")
    path = tmp_path / "r.csv"
    path.write_text("Store,Dept,Date,Weekly_Sales,IsHoliday\n" + "\n".join(rows) + "\n")
    return load_csv(path)


def test_report_has_every_part(parsed):
    report = analyze(parsed)
    assert report["rows"] == 240
    over_time = report["charts"]["over_time"]
    assert over_time["period"] == "week" and len(over_time["total"]) == 20
    assert over_time["holiday"].count(True) == 1
    assert sum(over_time["total"]) == pytest.approx(parsed.df["Weekly_Sales"].sum(), rel=1e-6)
    ranking = report["charts"]["ranking"]
    assert ranking["group"] == "Store" and ranking["labels"][0] in {"9", "10", "11", "12"}
    assert sum(report["charts"]["distribution"]["counts"]) == 240
    assert sum(s["size"] for s in report["segments"]) == 12
    assert all("stores with" in s["description"] or "store with" in s["description"] for s in report["segments"])
    assert len(report["risk"]) == 10 and report["risk"][0]["risk"] >= report["risk"][-1]["risk"]


def test_filters_recompute_everything(parsed):
    report = analyze(parsed, groups=["1", "2"], start="2024-02-01", end="2024-02-29")
    assert report["kpis"]["count"] == report["rows"] == 8      # 2 stores x 4 Fridays in February
    assert report["charts"]["ranking"]["labels"] == ["2", "1"] or report["charts"]["ranking"]["labels"] == ["1", "2"]
    with pytest.raises(AnalysisError) as info:
        analyze(parsed, start="2030-01-01")
    assert info.value.code == "no_rows"


def test_segments_separate_levels(parsed):
    segments = analyze(parsed)["segments"]                    # highest mean first
    assert len(segments) == 3
    assert "high" in segments[0]["description"] and "low" in segments[-1]["description"]
    assert set(segments[0]["members"]) <= {"9", "10", "11", "12"}
    assert set(segments[-1]["members"]) <= {"1", "2", "3", "4"}


def test_risk_ranks_by_documented_weights():
    stats = pd.DataFrame({"mean": [1.0, 1.0, 1.0], "anomaly_share": [0.0, 0.1, 0.2],
                          "volatility": [10.0, 5.0, 20.0], "decline": [0.0, 0.0, 0.1]}, index=["a", "b", "c"])
    table = risk_table(stats)
    assert [row["group"] for row in table] == ["c", "b", "a"]
    assert sum(RISK_WEIGHTS.values()) == pytest.approx(1.0)
    assert table[0]["risk"] == pytest.approx(100.0)


def test_export_neutralises_formulas_but_keeps_negative_numbers():
    df = pd.DataFrame({"name": ["=SUM(A1)", "+1", "-cmd", "@x", "\tx", "\rx", "plain"],
                       "value": [-5.5, 1, 2, 3, 4, 5, 6]})
    rows = list(csv.reader(io.StringIO(export_rows_csv(df), newline="")))
    assert [r[0] for r in rows[1:]] == ["'=SUM(A1)", "'+1", "'-cmd", "'@x", "'\tx", "'\rx", "plain"]
    assert rows[1][1] == "-5.5"                               # a real number, unquoted, not neutralised
    kpis = list(csv.reader(io.StringIO(export_kpis_csv({"average": -3.0, "trend": "=evil"}), newline="")))
    assert kpis[1] == ["average", "-3.0"] and kpis[2] == ["trend", "'=evil"]


def test_exports_end_lines_with_crlf():
    """RFC 4180: every record ends with CRLF, also the last; a CR inside a text cell stays inside its quotes."""
    rows = export_rows_csv(pd.DataFrame({"name": ["a", "b\nc"], "value": [1.5, 2]}))
    assert rows == '"name","value"\r\n"a",1.5\r\n"b\nc",2.0\r\n'
    kpis = export_kpis_csv({"average": 1.5, "trend": "stable"})
    assert kpis == '"kpi","value"\r\n"average",1.5\r\n"trend","stable"\r\n'


def test_summary_reports_the_date_format_after_filters(tmp_path):
    path = tmp_path / "eu.csv"
    path.write_text("Date;Site;Sales\n" + "".join(f"{d:02d}.01.2024;{s};1,5\n" for d in range(1, 20)
                                                          for s in (1, 2)))
    parsed = load_csv(path)
    kpis = analyze(parsed, groups=["1"], start="2024-01-10")["kpis"]
    assert kpis["date_format"] == "DD.MM.YYYY" and (kpis["first"][:10], kpis["days"]) == ("2024-01-10", 10)
