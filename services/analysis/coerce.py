"""Column typing after pandas has read the file: flags, numbers written with separators, dates.

pandas infers plain numbers itself; what it leaves as text are the cases people actually send:
"TRUE"/"no" flags and "1,234.50" in a comma-separated file (quoted). Required numeric columns are
checked here, with counts and line-numbered examples; dates are dates.py.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from services.analysis.errors import AnalysisError

TRUE = {"true", "t", "yes", "y", "1"}
FALSE = {"false", "f", "no", "n", "0"}


def _as_bool(series: pd.Series) -> pd.Series | None:
    if len(series.head(1000).dropna().unique()) > 4:      # cheap early exit for ordinary text columns
        return None
    uniques = series.dropna().unique()
    if not 0 < len(uniques) <= 4 or not {str(v).strip().lower() for v in uniques} <= TRUE | FALSE:
        return None
    lowered = series.astype(str).str.strip().str.lower()
    return lowered.isin(TRUE).astype("boolean").mask(series.isna())


def _clean_numbers(series: pd.Series) -> pd.Series:
    cleaned = series.astype(str).str.strip().str.replace(r"[,\s$€£]", "", regex=True)
    return pd.to_numeric(cleaned.where(series.notna()), errors="coerce")


def _as_number(series: pd.Series) -> pd.Series | None:
    present = series.dropna()
    if present.empty:
        return None
    sample = present.head(1000)           # decide on a sample: most text columns fail at once
    if _clean_numbers(sample).notna().sum() < 0.9 * len(sample):
        return None
    numbers = _clean_numbers(series)
    if numbers.notna().sum() >= 0.9 * len(present):
        return numbers
    return None


def coerce_columns(df: pd.DataFrame, notes: list[str]) -> None:
    """Turn text columns that are really flags or numbers into those types, in place."""
    for name in df.columns:
        col = df[name]
        if col.dtype == bool:
            continue
        if pd.api.types.is_numeric_dtype(col):
            continue
        as_bool = _as_bool(col)
        if as_bool is not None:
            df[name] = as_bool
            continue
        as_number = _as_number(col)
        if as_number is not None:
            df[name] = as_number
            notes.append(f"Read '{name}' as numbers (thousands separators or currency signs removed).")


def _examples(df: pd.DataFrame, mask: np.ndarray, column: str, line_of_row: np.ndarray, limit: int = 5) -> tuple:
    idx = np.flatnonzero(mask)[:limit]
    examples = ", ".join(f"{df[column].iloc[i]!r} (line {line_of_row[i]})" for i in idx)
    return examples, [int(line_of_row[i]) for i in idx]


def require_numeric(df: pd.DataFrame, mapping, line_of_row: np.ndarray) -> None:
    for column in mapping.values:
        col = df[column]
        if pd.api.types.is_bool_dtype(col) or not pd.api.types.is_numeric_dtype(col):
            numbers = pd.to_numeric(col.astype(str).str.replace(",", "", regex=False), errors="coerce")
            bad = (numbers.isna() & col.notna()).to_numpy()
            examples, lines = _examples(df, bad, column, line_of_row)
            raise AnalysisError("non_numeric", f"Column '{column}' must hold numbers, but {int(bad.sum()):,} value(s) "
                                f"are not numeric, e.g. {examples}.", 422, lines)
        if col.isna().all():
            raise AnalysisError("empty_column", f"Column '{column}' is empty (every value is missing).", 422)
