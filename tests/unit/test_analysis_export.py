"""Row exports give each cell back as the file wrote it, still safe to open in a spreadsheet."""
import csv
import io

from services.analysis import load_csv
from services.analysis.export import export_rows_csv
from services.analysis.filters import apply_filters

TEXT = ('Store,Dept,Date,Weekly_Sales,IsHoliday,Note\n'
        '1,1,2010-02-05,"-1,234.50",TRUE,=HYPERLINK("x")\n'
        '1,2,2010-02-12,24924.5,False,plain\n'
        '2,1,2010-02-19,"2,000",true,@cmd\n')


def rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_dates_flags_and_separated_numbers_come_back_as_written(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text(TEXT)
    parsed = load_csv(path)
    assert str(parsed.df["Date"].dtype).startswith("datetime64") and parsed.df["IsHoliday"].tolist() == [True, False, True]
    assert set(parsed.raw) == {"Date", "Weekly_Sales", "IsHoliday"}
    out = export_rows_csv(parsed.df, parsed.raw)
    rows = rows_of(out)
    assert rows[0] == ["Store", "Dept", "Date", "Weekly_Sales", "IsHoliday", "Note"]
    assert [r[2] for r in rows[1:]] == ["2010-02-05", "2010-02-12", "2010-02-19"]     # not 00:00:00+00:00
    assert [r[4] for r in rows[1:]] == ["TRUE", "False", "true"]                      # not True
    assert [r[3] for r in rows[1:]] == ["-1,234.50", "24924.5", "2,000"]              # a negative number is no formula
    assert [r[5] for r in rows[1:]] == ["'=HYPERLINK(\"x\")", "plain", "'@cmd"]        # formulas still neutralised
    assert out.endswith("\r\n") and out.count("\r\n") == 4


def test_filtered_rows_keep_their_own_text(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text(TEXT)
    parsed = load_csv(path)
    rows = rows_of(export_rows_csv(apply_filters(parsed.df, parsed.mapping, ["2"]), parsed.raw))
    assert rows[1][:5] == ["2", "1", "2010-02-19", "2,000", "true"] and len(rows) == 2


def test_formula_text_in_a_date_or_flag_column_cannot_slip_through(tmp_path):
    """Kept text goes through the same guard: a flag column is only ever true/false words, and a date
    column only dates, but a sneaky cell in a text column next to them is still neutralised."""
    path = tmp_path / "r.csv"
    path.write_text("when,revenue,promo,label\n2024-01-01,5,yes,-2+3\n2024-01-02,6,no,ok\n2024-01-03,7,no,+x\n")
    parsed = load_csv(path)
    rows = rows_of(export_rows_csv(parsed.df, parsed.raw))
    assert [r[2] for r in rows[1:]] == ["yes", "no", "no"] and [r[0] for r in rows[1:]][0] == "2024-01-01"
    assert [r[3] for r in rows[1:]] == ["'-2+3", "ok", "'+x"]


def test_a_flag_column_the_sample_missed_is_read_again_as_text(tmp_path):
    path = tmp_path / "late.csv"
    lines = [f"2024-01-{1 + i % 28:02d},{i},,\n" for i in range(250)] + ["2024-01-01,1,TRUE,x\n"]
    path.write_text("Date,Sales,Flag,Other\n" + "".join(lines))
    parsed = load_csv(path)
    assert parsed.df["Flag"].iloc[-1] == True and parsed.raw["Flag"].iloc[-1] == "TRUE"   # noqa: E712
    rows = rows_of(export_rows_csv(parsed.df, parsed.raw))
    assert rows[-1][2] == "TRUE" and rows[1][2] == ""
