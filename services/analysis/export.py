"""CSV exports that are safe to open in a spreadsheet.

A text cell starting with = + - @ TAB or CR would be run as a formula by Excel or LibreOffice
("CSV injection"); such cells get a leading apostrophe. Real numbers, negative ones included, stay
numbers: only text columns are touched. Records end with CRLF, as RFC 4180 asks (line breaks inside
a quoted text cell are kept as they are).

Row exports write each cell as the file wrote it: columns that parsing changed (dates, TRUE/FALSE,
"1,234.50") come from `ParsedCsv.raw`, the text kept beside the parsed values. That text is guarded
like any other, except that a negative number written in a number column ("-1,234.50") is a number
to a spreadsheet, not a formula, and is left alone.
"""
from __future__ import annotations

import csv
import re

import pandas as pd

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
CRLF = "\r\n"
NUMBER_TEXT = re.compile(r"[+-]?[$€£]?\d[\d., ]*")


def neutralise(value):
    if isinstance(value, str) and value.startswith(DANGEROUS):
        return "'" + value
    return value


def _safe(df: pd.DataFrame, written: frozenset = frozenset()) -> pd.DataFrame:
    out = df.copy()
    for name in out.columns:
        col = out[name]
        if name not in written and not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)
                                        or pd.api.types.is_datetime64_any_dtype(col)):
            out[name] = col.map(neutralise)
    out.columns = [neutralise(str(c)) for c in out.columns]
    return out


def _neutralise_number_text(value):
    if isinstance(value, str) and NUMBER_TEXT.fullmatch(value.strip()):
        return value
    return neutralise(value)


def _as_written(df: pd.DataFrame, raw: dict) -> pd.DataFrame:
    """`df` with the columns in `raw` replaced by their text as written, guarded (missing cells stay empty)."""
    out = df.copy()
    for name, text in raw.items():
        if name not in out.columns:
            continue
        text = text.reindex(df.index)
        cells = text.astype(object).where(text.notna(), None)
        numeric = pd.api.types.is_numeric_dtype(df[name]) and not pd.api.types.is_bool_dtype(df[name])
        out[name] = cells.map(_neutralise_number_text if numeric else neutralise).astype(object)
    return out


def export_rows_csv(df: pd.DataFrame, raw: dict | None = None) -> str:
    """The rows as CSV, text quoted and numbers bare; with `raw` (ParsedCsv.raw), cells as the file wrote them."""
    raw = {name: text for name, text in (raw or {}).items() if name in df.columns}
    safe = _safe(_as_written(df, raw), frozenset(raw))
    return safe.to_csv(index=False, quoting=csv.QUOTE_NONNUMERIC, lineterminator=CRLF)   # text quoted, numbers bare


def _flat_kpis(kpis: dict) -> dict:
    """Per-type KPIs (`by_type`) as "temperature (°C) average" rows after the file's own."""
    flat = {k: v for k, v in kpis.items() if k != "by_type"}
    for kind in kpis.get("by_type") or []:
        flat.update({f"{kind['label']} {k}": v for k, v in kind.items() if k not in ("label", "type", "unit")})
    return flat


def export_kpis_csv(kpis: dict) -> str:
    kpis = _flat_kpis(kpis)
    rows = pd.DataFrame({"kpi": [neutralise(k) for k in kpis], "value": [neutralise(v) if isinstance(v, str) else v
                                                                         for v in kpis.values()]})
    return rows.to_csv(index=False, quoting=csv.QUOTE_NONNUMERIC, lineterminator=CRLF)
