"""Offline CSV analysis: detection, typing and KPIs against small hand-computed examples."""
import codecs
import statistics

import pandas as pd
import pytest

from services.analysis import AnalysisError, Limits, Mapping, compute_kpis, load_csv, suggest_mapping, trend_of

RETAIL = ("Store,Dept,Date,Weekly_Sales,IsHoliday\n"
          "1,1,2010-02-05,100,FALSE\n1,1,2010-02-12,300,TRUE\n1,2,2010-02-05,200,FALSE\n"
          "2,1,2010-02-12,400,FALSE\n2,1,2010-02-19,-50,FALSE\n2,2,2010-02-19,250,TRUE\n")
VALUES = [100, 300, 200, 400, -50, 250]


def write(tmp_path, text, name="data.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def test_retail_profile_and_hand_computed_kpis(tmp_path):
    parsed = load_csv(write(tmp_path, RETAIL))
    assert parsed.profile == "retail" and parsed.rows == 6
    assert parsed.mapping.to_dict() == {"time": "Date", "values": ["Weekly_Sales"], "groups": ["Store", "Dept"],
                                        "flag": "IsHoliday"}
    k = compute_kpis(parsed.df, parsed.mapping)
    mean = statistics.mean(VALUES)
    assert k["average"] == pytest.approx(mean, abs=0.01)
    assert (k["max"], k["min"], k["count"]) == (400, -50, 6)
    assert k["volatility"] == pytest.approx(statistics.stdev(VALUES) / mean * 100, abs=0.01)
    assert k["holiday_average"] == pytest.approx((300 + 250) / 2)
    assert (k["first"][:10], k["last"][:10], k["days"]) == ("2010-02-05", "2010-02-19", 15)


@pytest.mark.parametrize("encoding, prefix", [("utf-8", b""), ("utf-8", codecs.BOM_UTF8), ("utf-16", b""),
                                              ("latin-1", b"")])
def test_encodings(tmp_path, encoding, prefix):
    text = RETAIL.replace("Store,", "Store,").replace("IsHoliday\n", "IsHoliday\n") + "3,1,2010-02-19,10,FALSE\n"
    text = text.replace("Weekly_Sales", "Weekly_Sales")
    data = prefix + (text + "# café\n").encode(encoding) if encoding == "latin-1" else prefix + text.encode(encoding)
    if encoding == "latin-1":
        data = prefix + text.replace("Dept", "Dépt").encode("latin-1")
        path = write(tmp_path, data)
        parsed = load_csv(path, mapping=Mapping("Date", ("Weekly_Sales",), ("Store", "Dépt"), "IsHoliday"))
        assert parsed.encoding == "latin-1" and "Dépt" in parsed.df.columns
        return
    parsed = load_csv(write(tmp_path, data))
    assert parsed.rows == 7 and parsed.profile == "retail"
    assert parsed.encoding in ("utf-8", "utf-8-sig", "utf-16")


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_delimiters_and_thousands_separators(tmp_path, sep):
    text = (f"Store{sep}Dept{sep}Date{sep}Weekly_Sales{sep}IsHoliday\n"
            f"1{sep}1{sep}2010-02-05{sep}1,234.50{sep}no\n1{sep}2{sep}2010-02-12{sep}2,000.25{sep}yes\n")
    parsed = load_csv(write(tmp_path, text))
    assert parsed.delimiter == sep
    assert parsed.df["Weekly_Sales"].tolist() == [1234.5, 2000.25]
    assert parsed.df["IsHoliday"].tolist() == [False, True]


def test_european_decimal_comma(tmp_path):
    text = "Store;Dept;Date;Weekly_Sales\n1;1;2010-02-05;1.234,50\n1;2;2010-02-12;99,5\n"
    assert load_csv(write(tmp_path, text)).df["Weekly_Sales"].tolist() == [1234.5, 99.5]


def test_quoted_thousands_in_comma_file_and_blank_lines(tmp_path):
    text = 'Store,Dept,Date,Weekly_Sales\n1,1,2010-02-05,"1,234.50"\n\n1,2,2010-02-12,"10,000"\n'
    parsed = load_csv(write(tmp_path, text))
    assert parsed.df["Weekly_Sales"].tolist() == [1234.5, 10000.0]
    assert parsed.line_of_row.tolist() == [2, 4]


def test_sensor_profile(tmp_path):
    text = ("timestamp,asset_id,sensor_type,value,unit\n2026-01-01T00:00:00Z,pump-1,temp,40.5,C\n"
            "2026-01-01T00:01:00Z,pump-1,temp,41.0,C\n2026-01-01T00:01:00Z,pump-2,pressure,3.2,bar\n")
    parsed = load_csv(write(tmp_path, text))
    assert parsed.profile == "sensor" and parsed.mapping.groups == ("asset_id", "sensor_type")


def test_unknown_layout_gets_a_suggested_mapping(tmp_path):
    text = "when,region,revenue,promo\n2024-01-01,north,10.5,yes\n2024-01-02,south,12.0,no\n2024-01-03,north,9,no\n"
    parsed = load_csv(write(tmp_path, text))
    assert parsed.profile == "custom"
    assert parsed.mapping.time == "when" and parsed.mapping.values == ("revenue",)
    assert parsed.mapping.groups == ("region",) and parsed.mapping.flag == "promo"
    assert suggest_mapping(parsed.df) == parsed.mapping


def test_no_header_gets_generated_names(tmp_path):
    parsed = load_csv(write(tmp_path, "2024-01-01,5,7\n2024-01-02,6,8\n"),
                      mapping=Mapping("column_1", ("column_2",)))
    assert list(parsed.df.columns) == ["column_1", "column_2", "column_3"] and not parsed.has_header


def test_empty_optional_columns_are_dropped_with_a_note(tmp_path):
    text = "Store,Dept,Date,Weekly_Sales,MarkDown1\n1,1,2010-02-05,5,\n1,2,2010-02-12,6,\n"
    parsed = load_csv(write(tmp_path, text))
    assert "MarkDown1" not in parsed.df.columns and any("MarkDown1" in w for w in parsed.warnings)


@pytest.mark.parametrize("totals, expected", [
    ([10, 11, 12, 13, 14], "increasing"), ([14, 13, 12, 11, 10], "decreasing"),
    ([10, 10.1, 9.9, 10, 10.05], "flat"), ([1, 100], "not enough data"),
])
def test_trend_rule(totals, expected):
    assert trend_of(totals)[0] == expected


def test_mapping_errors_name_the_columns(tmp_path):
    path = write(tmp_path, RETAIL)
    with pytest.raises(AnalysisError) as info:
        load_csv(path, mapping=Mapping("Date", ("Sales",), ("Shop",)))
    assert info.value.code == "missing_columns" and "Sales" in info.value.message and "Shop" in info.value.message


def test_row_limit_is_enforced_before_reading_everything(tmp_path):
    path = write(tmp_path, RETAIL)
    with pytest.raises(AnalysisError) as info:
        load_csv(path, limits=Limits(max_rows=3))
    assert info.value.status == 413 and "3" in info.value.message and "MAX_ROWS" in info.value.message


def test_dates_become_utc_timestamps(tmp_path):
    parsed = load_csv(write(tmp_path, RETAIL))
    assert str(parsed.df["Date"].dtype).startswith("datetime64") and parsed.df["Date"].dt.tz is not None
    assert isinstance(parsed.df["Date"].iloc[0], pd.Timestamp)


def _euro_text(days, header="Datum;Filiale;Umsatz", fmt="{d:02d}.01.2024"):
    """A ;-separated German-style file: day-first dates, 1.234,56 amounts, a Latin-1 'Köln'."""
    rows = "".join(f"{fmt.format(d=d)};{site};{1000 + 10 * d},{d:02d}\n".replace(f"{1000 + 10 * d},",
                   f"{(1000 + 10 * d) // 1000}.{(1000 + 10 * d) % 1000:03d},")
                   for d in days for site in ("Köln", "Bonn"))
    return header + "\n" + rows


@pytest.mark.parametrize("header", ["Datum;Filiale;Umsatz", "Date;Store;Sales"])
def test_european_dates_are_day_first(tmp_path, header):
    parsed = load_csv(write(tmp_path, _euro_text(range(1, 30), header), encoding="latin-1"))
    assert parsed.encoding == "latin-1" and parsed.date_format == "DD.MM.YYYY"
    time, value = parsed.mapping.time, parsed.mapping.values[0]
    assert parsed.df[value].iloc[0] == pytest.approx(1010.01)
    k = compute_kpis(parsed.df, parsed.mapping)
    assert (k["first"][:10], k["last"][:10], k["days"]) == ("2024-01-01", "2024-01-29", 29)
    assert k["trend"] == "increasing" and k["date_format"] == "DD.MM.YYYY"
    assert parsed.df[time].dt.day.tolist()[:4] == [1, 1, 2, 2]


def test_ambiguous_dates_follow_european_decimals(tmp_path):
    """Every day <= 12: nothing in the values decides, the 1.234,56 amounts do (day-first)."""
    parsed = load_csv(write(tmp_path, _euro_text(range(1, 13)), encoding="latin-1"))
    k = compute_kpis(parsed.df, parsed.mapping)
    assert (k["last"][:10], k["days"], k["date_format"]) == ("2024-01-12", 12, "DD.MM.YYYY")


def test_month_first_when_a_second_number_exceeds_12(tmp_path):
    text = "when,revenue\n" + "".join(f"01/{d:02d}/2024,{d}\n02/{d:02d}/2024,{d}\n" for d in (3, 9, 20))
    parsed = load_csv(write(tmp_path, text))
    k = compute_kpis(parsed.df, parsed.mapping)
    assert (k["first"][:10], k["last"][:10], k["date_format"]) == ("2024-01-03", "2024-02-20", "MM/DD/YYYY")


def test_dates_contradicting_both_orders_name_the_lines(tmp_path):
    text = "when;revenue\n01.02.2024;1\n13.01.2024;2\n05.06.2024;3\n01.25.2024;4\n"
    with pytest.raises(AnalysisError) as info:
        load_csv(write(tmp_path, text))
    assert info.value.code == "mixed_date_order" and info.value.status == 422
    assert info.value.lines == [3, 5]
    assert "'13.01.2024' (line 3)" in info.value.message and "'01.25.2024' (line 5)" in info.value.message


def test_iso_dates_report_their_format(tmp_path):
    parsed = load_csv(write(tmp_path, RETAIL))
    assert parsed.date_format == "YYYY-MM-DD"


def test_mixed_time_zone_offsets_become_utc(tmp_path):
    text = ("when,revenue\n2024-01-01T10:00:00+01:00,1\n2024-01-02T10:00:00-05:00,2\n"
            "2024-01-03T10:00:00+01:00,3\n")
    parsed = load_csv(write(tmp_path, text))
    assert parsed.mapping.time == "when"
    assert [t.isoformat() for t in parsed.df["when"]] == ["2024-01-01T09:00:00+00:00", "2024-01-02T15:00:00+00:00",
                                                           "2024-01-03T09:00:00+00:00"]


def test_non_finite_values_are_left_out_with_a_warning(tmp_path):
    values = ["1", "2", "3", "inf", "5", "6", "7", "-inf", "9", "10", "1e309", "12"]
    text = "when,revenue\n" + "".join(f"2024-01-{i:02d},{v}\n" for i, v in enumerate(values, 1))
    parsed = load_csv(write(tmp_path, text))
    assert "3 values were not finite numbers in 'revenue' (lines 5, 9, 12); they were left out." in parsed.warnings
    k = compute_kpis(parsed.df, parsed.mapping)
    finite = [1, 2, 3, 5, 6, 7, 9, 10, 12]
    assert (k["count"], k["max"], k["min"]) == (9, 12, 1)
    assert k["average"] == pytest.approx(statistics.mean(finite), abs=0.01)
    assert k["volatility"] == pytest.approx(statistics.stdev(finite) / statistics.mean(finite) * 100, abs=0.01)


def test_a_column_of_only_non_finite_values_is_an_error(tmp_path):
    text = "when,revenue\n2024-01-01,inf\n2024-01-02,-inf\n"
    with pytest.raises(AnalysisError) as info:
        load_csv(write(tmp_path, text))
    assert info.value.code == "empty_column" and "finite" in info.value.message and info.value.lines == [2, 3]


def test_a_stray_value_in_a_day_first_column_is_a_bad_date(tmp_path):
    text = "when;revenue\n01.02.2024;1\n13.01.2024;2\nsoon;3\n31.02.2024;4\n"
    with pytest.raises(AnalysisError) as info:
        load_csv(write(tmp_path, text), mapping=Mapping("when", ("revenue",)))
    assert info.value.code == "bad_dates" and info.value.lines == [4, 5]
