"""Every kind of bad file gets one AnalysisError with a fitting status and a message naming the problem."""
import bz2
import gzip
import io
import os
import zipfile

import pytest

from services.analysis import AnalysisError, Limits, load_csv

HEADER = "Store,Dept,Date,Weekly_Sales\n"


def _zip_bytes():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("data.csv", HEADER + "1,1,2010-02-05,5\n")
    return buf.getvalue()


CASES = {
    "empty": (b"", 400, "empty", "empty"),
    "whitespace only": (b"\n\n  \n", 400, "empty", "empty"),
    "header only": (HEADER.encode(), 422, "header_only", "no data rows"),
    "single column": (b"Sales\n1\n2\n", 400, "no_delimiter", "separator"),
    "mixed delimiters": (b"Store;Dept;Date;Weekly_Sales\n1;1;2010-02-05;5\n1,2,2010-02-05,5\n1;3;2010-02-05;5\n",
                         400, "mixed_delimiters", "line 3"),
    "unbalanced quotes": ((HEADER + '1,1,"2010-02-05,5\n1,2,2010-02-05,5\n').encode(), 400, "unbalanced_quotes",
                          "line 2"),
    "too many fields": ((HEADER + "1,1,2010-02-05,5\n1,2,2010-02-05,5,9\n1,3,2010-02-05,5,9\n").encode(), 400,
                        "field_count", "lines 3, 4"),
    "too few fields": ((HEADER + "1,1,2010-02-05\n1,2,2010-02-05,5\n").encode(), 400, "field_count", "line 2"),
    "binary renamed": (b"\x89PNG\r\n\x1a\n" + os.urandom(200), 415, "not_csv", "PNG"),
    "nul bytes": (b"Store,Dept\x00\x00,Date\n" + os.urandom(100), 415, "not_csv", "binary"),
    "pdf": (b"%PDF-1.7\n...", 415, "not_csv", "PDF"),
    "neither UTF-8 nor text": (bytes(range(1, 32)) * 20 + b"\xff\xfe\xfa" * 50, 415, "not_text", "neither UTF-8"),
    "gzip": (gzip.compress((HEADER + "1,1,2010-02-05,5\n").encode()), 415, "compressed", "gzip"),
    "bzip2": (bz2.compress((HEADER + "1,1,2010-02-05,5\n").encode()), 415, "compressed", "bzip2"),
    "zip or xlsx": (_zip_bytes(), 415, "compressed", "ZIP"),
    "missing required column": (b"Store,Dept,Weekly_Sales\n1,1,5\n", 422, "missing_columns", "Date"),
    "non-numeric values": ((HEADER + "1,1,2010-02-05,abc\n1,2,2010-02-05,5\n1,3,2010-02-05,n/a\n").encode(), 422,
                           "non_numeric", "'abc' (line 2)"),
    "duplicate columns": (b"Store,Dept,Date,Weekly_Sales,Dept\n1,1,2010-02-05,5,2\n", 422, "duplicate_columns",
                          "Dept"),
    "all-NaN required column": ((HEADER + "1,1,2010-02-05,\n1,2,2010-02-05,\n").encode(), 422, "empty_column",
                                "Weekly_Sales"),
    "unparseable dates": ((HEADER + "1,1,2010-02-05,5\n1,2,someday,5\n").encode(), 422, "bad_dates",
                          "'someday' (line 3)"),
    "no time column at all": (b"a,b\nx,1\ny,2\n", 422, "needs_mapping", "mapping"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_corpus(tmp_path, name):
    data, status, code, fragment = CASES[name]
    path = tmp_path / "upload.csv"
    path.write_bytes(data)
    with pytest.raises(AnalysisError) as info:
        load_csv(path)
    assert (info.value.status, info.value.code) == (status, code), info.value.message
    assert fragment in info.value.message
    assert info.value.to_dict()["error"] == info.value.message


def test_over_the_size_limit_names_the_limit(tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes((HEADER + "1,1,2010-02-05,5\n" * 2000).encode())
    with pytest.raises(AnalysisError) as info:
        load_csv(path, limits=Limits(max_bytes=10_000))
    assert info.value.status == 413 and "MAX_UPLOAD_MB" in info.value.message


def test_too_many_columns(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"c{i}" for i in range(30)) + "\n" + ",".join("1" * 30) + "\n")
    with pytest.raises(AnalysisError) as info:
        load_csv(path, limits=Limits(max_columns=20))
    assert info.value.status == 413 and "MAX_COLUMNS" in info.value.message


@pytest.mark.parametrize("seed", range(20))
def test_random_and_truncated_bytes_only_ever_raise_analysis_errors(tmp_path, seed):
    import random
    rng = random.Random(seed)
    good = (HEADER + "".join(f"{rng.randint(1, 9)},{rng.randint(1, 9)},2010-02-05,{rng.random() * 100:.2f}\n"
                             for _ in range(30))).encode()
    data = good[: rng.randint(0, len(good))] if seed % 2 else bytes(rng.getrandbits(8) for _ in range(300))
    path = tmp_path / "fuzz.csv"
    path.write_bytes(data)
    try:
        load_csv(path)
    except AnalysisError:
        pass


def test_a_long_line_balanced_by_a_short_one_is_still_found(tmp_path):
    """Delimiter totals add up, so only the per-line fallback can name the lines."""
    path = tmp_path / "balanced.csv"
    path.write_text(HEADER + "1,1,2010-02-05,5\n1,2,2010-02-05,5,9\n1,3,2010-02-05\n")
    with pytest.raises(AnalysisError) as info:
        load_csv(path)
    assert info.value.code == "field_count" and info.value.lines == [3, 4]


@pytest.mark.parametrize("quoted", [False, True])
def test_a_500_kb_field_is_read(tmp_path, quoted):
    note = "x" * 500_000
    note = f'"{note}"' if quoted else note
    path = tmp_path / "long.csv"
    path.write_text(f"Store,Dept,Date,Weekly_Sales,Note\n1,1,2010-02-05,5,{note}\n1,2,2010-02-12,6,short\n")
    parsed = load_csv(path)
    assert parsed.rows == 2 and len(parsed.df["Note"].iloc[0]) == 500_000
    assert parsed.line_of_row.tolist() == [2, 3]


def test_a_line_over_the_line_limit_is_named(tmp_path, monkeypatch):
    from services.analysis import sniff
    monkeypatch.setattr(sniff, "MAX_LINE_BYTES", 100_000)
    path = tmp_path / "long.csv"
    path.write_text("Store,Dept,Date,Weekly_Sales,Note\n1,1,2010-02-05,5," + "x" * 200_000 + "\n")
    with pytest.raises(AnalysisError) as info:
        load_csv(path)
    assert info.value.code == "line_too_long" and info.value.lines == [2] and "Line 2" in info.value.message


@pytest.mark.parametrize("quoted", [False, True])
def test_cr_only_line_endings(tmp_path, quoted):
    """Old Mac files end lines with a bare CR."""
    store = '"1"' if quoted else "1"
    path = tmp_path / "mac.csv"
    path.write_bytes(f"Store,Dept,Date,Weekly_Sales\r{store},1,2010-02-05,5\r1,2,2010-02-12,6\r\r2,1,2010-02-19,7\r"
                     .encode())
    parsed = load_csv(path)
    assert parsed.rows == 3 and parsed.df["Weekly_Sales"].tolist() == [5, 6, 7]
    assert parsed.line_of_row.tolist() == [2, 3, 5]


def test_cr_only_field_count_errors_name_the_real_line(tmp_path):
    path = tmp_path / "mac.csv"
    path.write_bytes(b"Store,Dept,Date,Weekly_Sales\r1,1,2010-02-05,5\r1,2,2010-02-12\r")
    with pytest.raises(AnalysisError) as info:
        load_csv(path)
    assert info.value.code == "field_count" and info.value.lines == [3]
