"""The time column: parse it to UTC timestamps and decide, from the whole column, how it is written.

Numeric dates (01.02.2024, 1/2/24) are read day-first or month-first by the column as a whole,
never per value: a first number above 12 means day-first, a second number above 12 month-first;
a column with both is contradictory and refused with the lines of each kind. A column that never
decides (every number <= 12) follows the file's locale: day-first when the numbers use European
decimals (1.234,56) or the dates use dots, else month-first, with a warning either way. ISO 8601
values with different UTC offsets are converted to UTC. The chosen format ("DD.MM.YYYY",
"YYYY-MM-DD", ...) is returned so the report can show it.
"""
from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

from services.analysis.errors import AnalysisError, first_lines

ISO_DATE = r"\d{4}-\d{2}-\d{2}([T ][\d:.]+)?(Z|[+-]\d{2}:?\d{2})?"
NUMERIC_DATE = re.compile(r"^\s*(\d{1,2})([./-])(\d{1,2})\2(\d{4}|\d{2})(?P<time>[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?\s*$")
DOTTED_DATE = re.compile(r"^\s*\d{1,2}\.\d{1,2}\.\d{2,4}\s*$")


def _examples(raw: pd.Series, mask: np.ndarray, line_of_row: np.ndarray, limit: int = 5) -> tuple[str, list[int]]:
    idx = np.flatnonzero(mask)[:limit]
    return ", ".join(f"{raw.iloc[i]!r} (line {line_of_row[i]})" for i in idx), [int(line_of_row[i]) for i in idx]


def _distinct(raw: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """(distinct values as text, code per row; -1 where missing): dates repeat a lot in grouped data."""
    if isinstance(raw.dtype, pd.CategoricalDtype):
        return pd.Series(raw.cat.categories.astype(str)), raw.cat.codes.to_numpy()
    if raw.head(2000).nunique() >= 1000:              # mostly distinct (timestamps): no point in deduplicating
        return raw.reset_index(drop=True), np.arange(len(raw))
    codes, uniques = pd.factorize(raw)
    return pd.Series(uniques).astype(str), codes


def _expand(parsed_uniques: pd.Series, codes: np.ndarray, index) -> pd.Series:
    return pd.Series(pd.DatetimeIndex(parsed_uniques).take(codes, allow_fill=True), index=index)   # -1 -> NaT


def _day_first(parts: pd.DataFrame, codes: np.ndarray, raw: pd.Series, line_of_row, column: str,
               european: bool, notes: list[str]) -> tuple[bool, str]:
    """(day first?, display format) for numeric dates (their regex groups), decided by the whole column."""
    first, second = parts[0].fillna("0").astype(int).to_numpy(), parts[2].fillna("0").astype(int).to_numpy()
    model = parts.dropna(subset=[0]).iloc[0]           # the first date: its separator and year width
    sep = model[1]
    only_day_first, only_month_first = first > 12, second > 12
    if only_day_first.any() and only_month_first.any():
        day_rows = np.isin(codes, np.flatnonzero(only_day_first))
        month_rows = np.isin(codes, np.flatnonzero(only_month_first))
        day_examples, day_lines = _examples(raw, day_rows, line_of_row, 3)
        month_examples, month_lines = _examples(raw, month_rows, line_of_row, 3)
        raise AnalysisError("mixed_date_order", f"Column '{column}' mixes date orders: some dates are only valid "
                            f"day-first, e.g. {day_examples}, others only month-first, e.g. {month_examples}. "
                            "Write every date the same way (or as YYYY-MM-DD).", 422,
                            sorted(day_lines + month_lines))
    year = "YYYY" if len(model[3]) == 4 else "YY"
    if only_day_first.any() or only_month_first.any():
        day_first = bool(only_day_first.any())
    else:
        day_first = european or sep == "."
        why = ("because the numbers use European decimals" if european else "because the dates use dots"
               if sep == "." else "as nothing in the file suggests day-first")
        order = "day-first" if day_first else "month-first"
        notes.append(f"Dates in '{column}' fit both day-first and month-first; read them {order} {why}.")
    fmt = f"DD{sep}MM{sep}{year}" if day_first else f"MM{sep}DD{sep}{year}"
    return day_first, fmt + (" hh:mm" if parts["time"].notna().any() else "")


def _parse_numeric(text: pd.Series, day_first: bool, fmt: str, uniform: bool) -> pd.Series:
    if " hh:mm" in fmt or not uniform:   # times, or mixed separators/years: dateutil, the order is decided
        return pd.to_datetime(text, errors="coerce", utc=True, format="mixed", dayfirst=day_first)
    strf = fmt.replace("DD", "%d").replace("MM", "%m").replace("YYYY", "%Y").replace("YY", "%y")
    return pd.to_datetime(text.str.strip(), errors="coerce", utc=True, format=strf)


def parse_dates(df: pd.DataFrame, mapping, line_of_row: np.ndarray, european: bool = False,
                notes: list[str] | None = None) -> str | None:
    """Turn the time column into UTC timestamps in place; return the date format it was written in."""
    column = mapping.time
    raw = df[column]
    notes = notes if notes is not None else []
    missing = raw.isna().to_numpy()          # computed once: isna on 400k strings is not free
    if missing.all():
        raise AnalysisError("empty_column", f"Column '{column}' is empty (every value is missing).", 422)
    fmt = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if pd.api.types.is_numeric_dtype(raw):
            parsed = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns, UTC]")
        else:
            text, codes = _distinct(raw)
            sample = text.dropna().head(200)   # decides the kind; values of another kind become bad dates
            if sample.str.fullmatch(ISO_DATE).all():
                fmt = "YYYY-MM-DD" if sample.str.len().max() <= 10 else "YYYY-MM-DDThh:mm:ss"
                uniques = pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")
            elif sample.str.match(NUMERIC_DATE).all():
                parts = text.str.extract(NUMERIC_DATE)
                day_first, fmt = _day_first(parts, codes, raw, line_of_row, column, european, notes)
                uniform = parts[1].nunique() == 1 and parts[3].str.len().nunique() == 1
                uniques = _parse_numeric(text, day_first, fmt, uniform).where(parts[0].notna())
            else:                   # month names and other free text: pandas infers, per value if it must
                uniques = pd.to_datetime(text, errors="coerce", utc=True)
                if uniques.isna().any():
                    uniques = pd.to_datetime(text, errors="coerce", utc=True, format="mixed")
            parsed = _expand(uniques, codes, raw.index)
    bad = parsed.isna().to_numpy() & ~missing
    if bad.any():
        examples, lines = _examples(raw, bad, line_of_row)
        raise AnalysisError("bad_dates", f"Column '{column}' should hold dates, but {int(bad.sum()):,} value(s) do "
                            f"not parse as dates, e.g. {examples}.", 422, lines)
    df[column] = parsed
    return fmt


def exclude_non_finite(df: pd.DataFrame, mapping, line_of_row: np.ndarray, notes: list[str]) -> None:
    """inf, -inf and 1e309 (which overflows to inf) are left out of the value columns, with a counted warning."""
    for column in mapping.values:
        values = df[column].to_numpy(dtype=float, na_value=np.nan)
        infinite = np.isinf(values)
        if not infinite.any():
            continue
        lines = line_of_row[infinite].tolist()
        count = len(lines)
        if np.isnan(values[~infinite]).all():
            raise AnalysisError("empty_column", f"Column '{column}' has no finite numbers: {count:,} value(s) are "
                                f"infinite ({first_lines(lines)}) and the rest are missing.", 422, lines[:50])
        df[column] = df[column].astype(float).mask(infinite)
        what = "values were not finite numbers" if count > 1 else "value was not a finite number"
        notes.append(f"{count:,} {what} in '{column}' ({first_lines(lines)}); "
                     f"{'they were' if count > 1 else 'it was'} left out.")
