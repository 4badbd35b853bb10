"""Read a CSV into a validated DataFrame, or explain exactly why not.

Order matters: size limits and the byte-level sniff come first (cheap, and they protect memory),
then one pass over the lines checks every row has as many fields as the header (with line numbers),
then pandas' C parser reads the data, then columns are typed (numbers with thousands separators,
boolean-ish flags, dates) and checked against the profile's mapping. Any failure raises
AnalysisError and leaves nothing behind.
"""
from __future__ import annotations

import csv
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from services.analysis.errors import AnalysisError, first_lines
from services.analysis.limits import Limits
from services.analysis.profiles import Mapping, detect_profile, time_column_hint, validate_mapping
from services.analysis.sniff import Sniffed, decoded_lines, line_too_long, sniff
from services.analysis.coerce import coerce_columns, require_numeric
from services.analysis.dates import DOTTED_DATE, exclude_non_finite, parse_dates
from services.analysis.raw_text import converted, flag_columns, reread_flags, text_columns

WHITESPACE = np.frombuffer(b" \t\r\n", dtype=np.uint8)
EURO_NUMBER = re.compile(r"^-?\d{1,3}(\.\d{3})*,\d+$|^-?\d+,\d+$")


@dataclass
class ParsedCsv:
    df: pd.DataFrame
    profile: str
    mapping: Mapping
    encoding: str
    delimiter: str
    has_header: bool
    line_of_row: np.ndarray            # file line number of each data row
    warnings: list[str] = field(default_factory=list)
    date_format: str | None = None     # how the time column is written, e.g. "DD.MM.YYYY"
    raw: dict = field(default_factory=dict)   # column -> its cells' text as written, where parsing changed it

    @property
    def rows(self) -> int:
        return len(self.df)


def _check_size(path: Path, limits: Limits) -> None:
    size = path.stat().st_size
    if size == 0:
        raise AnalysisError("empty", "The file is empty.", 400)
    if size > limits.max_bytes:
        raise AnalysisError("file_too_large", f"The file is {size / 2**20:.1f} MB; the limit is {limits.max_mb:g} MB "
                            "(MAX_UPLOAD_MB).", 413)


def _fast_counts(path: Path, sniffed: Sniffed, expected: int, exact: bool) -> tuple[np.ndarray, np.ndarray] | None:
    """(line numbers, field counts) of non-blank lines by counting delimiters, when no field is quoted.

    Counting delimiter bytes per line (vectorised with numpy) is exact for ASCII-compatible
    encodings without quotes and ~50x faster than the csv module; anything else takes the csv path.
    Lines end at LF (and CRLF); a file whose lines all end with a bare CR (old Mac) is counted at CR,
    and one that mixes bare CRs with LFs takes the csv path (universal newlines).
    """
    if sniffed.encoding not in ("utf-8", "utf-8-sig", "latin-1") or path.stat().st_size > 512 * 2**20:
        return None
    data = path.read_bytes()
    if b'"' in data:
        return None
    eol = 10
    if data.count(b"\r") != data.count(b"\r\n"):                      # some CR is not part of a CRLF
        if b"\n" in data:
            return None
        eol = 13
    end = len(data)
    while end and data[end - 1] in b"\r\n":                            # ignore trailing newlines (no copy)
        end -= 1
    raw = np.frombuffer(data, dtype=np.uint8, count=end)
    newlines = np.flatnonzero(raw == eol)
    # Conservative: an empty line, or a line starting with a space or tab, takes the exact path.
    blank = end == 0 or data[0] in b" \t\r" or bool(np.isin(raw[newlines + 1], WHITESPACE).any())
    if exact is False and not blank:
        # No blank lines: if the delimiters add up to exactly `expected` fields on every line, no
        # line can be short (pandas itself rejects any long line), so per-line counting is not needed.
        lines = len(newlines) + 1
        if data.count(sniffed.delimiter.encode(), 0, end) == lines * (expected - 1):
            return np.arange(1, lines + 1), np.full(lines, expected)
    raw = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(raw == eol)                                   # newline positions
    delimiters = np.bincount(np.searchsorted(ends, np.flatnonzero(raw == ord(sniffed.delimiter))),
                             minlength=len(ends) + 1)
    content = delimiters > 0
    starts = np.concatenate(([0], ends + 1))
    for i in np.flatnonzero(~content):                                 # few: blank or one-field lines
        end = ends[i] if i < len(ends) else len(data)
        content[i] = bool(data[starts[i]:end].strip())
    numbers = np.flatnonzero(content) + 1
    return numbers, delimiters[content] + 1


def scan_fields(path: Path, sniffed: Sniffed, limits: Limits, exact: bool = False) -> np.ndarray:
    """Check every row's field count; return the file line number of each data row.

    `exact` forces a per-line count even when the totals add up (used when pandas found a bad line
    that a short line elsewhere had balanced out).
    """
    expected = len(sniffed.header)
    fast = _fast_counts(path, sniffed, expected, exact)
    if fast is not None:
        numbers, counts = fast
        if len(numbers) > limits.max_rows + 1:
            raise AnalysisError("too_many_rows", f"The file has more than {limits.max_rows:,} rows, the limit "
                                "(MAX_ROWS).", 413)
        bad_more = numbers[counts > expected].tolist()
        bad_fewer = numbers[counts < expected].tolist()
        _report_field_counts(expected, bad_more, bad_fewer)
        return _data_rows(numbers, sniffed)
    d = sniffed.delimiter
    starts, bad_more, bad_fewer = [], [], []
    reader = csv.reader(decoded_lines(path, sniffed.encoding), delimiter=d, strict=True)
    line = 0
    try:
        for row in reader:
            start = line + 1
            line = reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) > expected:
                bad_more.append(start)
            elif len(row) < expected:
                bad_fewer.append(start)
            starts.append(start)
            if len(starts) > limits.max_rows + 1:
                raise AnalysisError("too_many_rows", f"The file has more than {limits.max_rows:,} rows, the limit "
                                    "(MAX_ROWS).", 413)
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise line_too_long(line + 1) from None
        raise AnalysisError("unbalanced_quotes", f"Unbalanced quotes: a quoted field starting on line {line + 1} is "
                            f"never closed ({exc}).", 400, [line + 1]) from None
    _report_field_counts(expected, bad_more, bad_fewer)
    return _data_rows(np.array(starts, dtype=np.int64), sniffed)


def _data_rows(numbers: np.ndarray, sniffed: Sniffed) -> np.ndarray:
    rows = numbers[1:] if sniffed.has_header else numbers
    if len(rows) == 0:
        raise AnalysisError("header_only", "The file has a header line but no data rows.", 422)
    return rows


def _report_field_counts(expected: int, bad_more: list, bad_fewer: list) -> None:
    problems = []
    if bad_more:
        problems.append(f"{first_lines(bad_more)} {'has' if len(bad_more) == 1 else 'have'} more than {expected} fields")
    if bad_fewer:
        problems.append(f"{first_lines(bad_fewer)} {'has' if len(bad_fewer) == 1 else 'have'} fewer than {expected} "
                        "fields")
    if problems:
        raise AnalysisError("field_count", f"Rows do not match the header's {expected} columns: "
                            + "; ".join(problems) + ".", 400, sorted(bad_more + bad_fewer)[:50])


def _number_format(path: Path, sniffed: Sniffed) -> dict:
    """read_csv options for numbers: thousands separator and decimal mark, and which columns are
    dotted dates (01.02.2024), read as text: with thousands="." pandas would make them 1022024."""
    if sniffed.delimiter == ",":
        return {}
    sample = list(decoded_lines(path, sniffed.encoding))[1:50] if path.stat().st_size < 1 << 20 else []
    if not sample:
        with open(path, encoding=sniffed.encoding, newline="") as handle:
            sample = [handle.readline() for _ in range(50)][1:]
    rows = [[f.strip().strip('"') for f in ln.split(sniffed.delimiter)] for ln in sample]
    if sniffed.delimiter == ";" and any(EURO_NUMBER.match(f) for row in rows for f in row):
        dotted = {i for row in rows for i, f in enumerate(row) if DOTTED_DATE.match(f)}
        return {"decimal": ",", "thousands": ".", "dotted": dotted}
    return {"thousands": ","}


def _duplicate_check(header: list[str]) -> None:
    seen, dupes = set(), []
    for name in header:
        key = name.strip().lower()
        if key in seen and name not in dupes:
            dupes.append(name)
        seen.add(key)
    if dupes:
        raise AnalysisError("duplicate_columns", f"Duplicate column names: {', '.join(dupes)}. Rename them so each "
                            "column has its own name.", 422)


def _read(path: Path, sniffed: Sniffed, header: list[str], limits: Limits, time_column: str | None = None
          ) -> tuple[pd.DataFrame, bool]:
    """(the data, whether numbers use European decimals)."""
    # The time column is read as categories: the C parser dedupes the repeated date strings and
    # each distinct date is parsed once (faster than reading plain text, see docs/BENCHMARKS.md).
    options = _number_format(path, sniffed)
    dtype = {header[i]: "str" for i in options.pop("dotted", ()) if i < len(header)}
    dtype.update({name: "str" for name in flag_columns(path, sniffed, header)})   # keeps "TRUE" as written
    if time_column in header:
        dtype[time_column] = "category"
    try:
        return pd.read_csv(path, sep=sniffed.delimiter, encoding=sniffed.encoding,
                           header=0 if sniffed.has_header else None, names=header, engine="c",
                           skip_blank_lines=True, dtype=dtype or None, **options), options.get("decimal") == ","
    except pd.errors.ParserError as exc:
        scan_fields(path, sniffed, limits, exact=True)     # names the offending lines if it can
        raise AnalysisError("malformed", f"The file could not be read as CSV: {str(exc).strip()[:200]}", 400) from None


def load_csv(path, limits: Limits | None = None, mapping: Mapping | None = None) -> ParsedCsv:
    path, limits = Path(path), limits or Limits()
    _check_size(path, limits)
    sniffed = sniff(path)
    if len(sniffed.header) > limits.max_columns:
        raise AnalysisError("too_many_columns", f"The file has {len(sniffed.header)} columns; the limit is "
                            f"{limits.max_columns} (MAX_COLUMNS).", 413)
    header = [h if h else f"column_{i + 1}" for i, h in enumerate(sniffed.header)]
    _duplicate_check(header)
    line_of_row = scan_fields(path, sniffed, limits)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df, european = _read(path, sniffed, header, limits, mapping.time if mapping else time_column_hint(header))
    df.columns = header
    notes: list[str] = []
    before = text_columns(df)
    coerce_columns(df, notes)
    before.update(reread_flags(path, sniffed, header, df, before))
    profile, mapping = (mapping.profile, mapping) if mapping else detect_profile(df)
    validate_mapping(df, mapping)
    require_numeric(df, mapping, line_of_row)
    exclude_non_finite(df, mapping, line_of_row, notes)
    date_format = parse_dates(df, mapping, line_of_row, european, notes)
    empty_optional = [c for c in df.columns if c not in mapping.required_columns() and df[c].isna().all()]
    if empty_optional:
        df = df.drop(columns=empty_optional)
        notes.append(f"Ignored empty column(s): {', '.join(empty_optional)}.")
    df.attrs["date_format"] = date_format     # travels with filtered copies into compute_kpis
    return ParsedCsv(df, profile, mapping, sniffed.encoding, sniffed.delimiter, sniffed.has_header, line_of_row, notes,
                     date_format, converted(before, df))
