"""The text of each cell as the file wrote it, kept beside the parsed value for the columns parsing
changes: dates ("2010-02-05", not "2010-02-05 00:00:00+00:00"), flags ("TRUE", not True) and numbers
written with separators ("1,234.50"). Exports write this text back, so a file goes out as it came in.

pandas turns TRUE/FALSE into booleans while it reads, so such columns are recognised from the first
200 rows beforehand and read as text (a category would not do: pandas infers its categories' type);
a flag column the sample missed is read again as text on its own. Plain numbers are not kept: their
value is what the file says (an export may write 24924.5 for "24924.50").
"""
from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd

PANDAS_FLAGS = {"true", "false"}
SAMPLE_ROWS = 200


def _read_text(path: Path, sniffed, header: list[str], **options) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pd.read_csv(path, sep=sniffed.delimiter, encoding=sniffed.encoding, header=0 if sniffed.has_header else None,
                           names=header, engine="c", skip_blank_lines=True, dtype=str, keep_default_na=False, **options)


def flag_columns(path: Path, sniffed, header: list[str]) -> list[str]:
    """Columns whose first rows are all true/false words: pandas would read them as booleans."""
    try:
        head = _read_text(path, sniffed, header, nrows=SAMPLE_ROWS)
    except (ValueError, pd.errors.ParserError, UnicodeError):    # the full read reports what is wrong
        return []
    flags = []
    for name in head.columns:
        words = {str(v).strip().lower() for v in head[name].unique()} - {""}
        if words and words <= PANDAS_FLAGS:
            flags.append(name)
    return flags


def text_columns(df: pd.DataFrame) -> dict[str, pd.Series]:
    """The columns still holding text (text or category) before typing, by reference: no copy."""
    return {name: df[name] for name in df.columns
            if pd.api.types.is_string_dtype(df[name]) or isinstance(df[name].dtype, pd.CategoricalDtype)}


def converted(before: dict[str, pd.Series], df: pd.DataFrame) -> dict[str, pd.Series]:
    """Of the text columns captured `before`, those that typing turned into something else."""
    return {name: series for name, series in before.items() if name in df.columns and df[name] is not series
            and df[name].dtype != series.dtype}


def reread_flags(path: Path, sniffed, header: list[str], df: pd.DataFrame, before: dict) -> dict[str, pd.Series]:
    """Flag columns (boolean after typing) whose text pandas had already turned into True/False while
    reading, because the first rows did not show them: their text, read again on its own."""
    missed = [name for name in df.columns if pd.api.types.is_bool_dtype(df[name])
              and not (name in before and pd.api.types.is_string_dtype(before[name]))]
    if not missed:
        return {}
    text = _read_text(path, sniffed, header, usecols=missed)
    return {name: text[name].where(text[name] != "") for name in missed}
