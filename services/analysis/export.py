"""CSV exports that are safe to open in a spreadsheet.

A text cell starting with = + - @ TAB or CR would be run as a formula by Excel or LibreOffice
("CSV injection"); such cells get a leading apostrophe. Real numbers, negative ones included, stay
numbers: only text columns are touched. Records end with CRLF, as RFC 4180 asks (line breaks inside
a quoted text cell are kept as they are).
"""
from __future__ import annotations

import csv

import pandas as pd

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
CRLF = "\r\n"


def neutralise(value):
    if isinstance(value, str) and value.startswith(DANGEROUS):
        return "'" + value
    return value


def _safe(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for name in out.columns:
        col = out[name]
        if not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)
                or pd.api.types.is_datetime64_any_dtype(col)):
            out[name] = col.map(neutralise)
    out.columns = [neutralise(str(c)) for c in out.columns]
    return out


def export_rows_csv(df: pd.DataFrame) -> str:
    return _safe(df).to_csv(index=False, quoting=csv.QUOTE_NONNUMERIC, lineterminator=CRLF)   # text quoted, numbers bare


def export_kpis_csv(kpis: dict) -> str:
    rows = pd.DataFrame({"kpi": list(kpis), "value": [neutralise(v) if isinstance(v, str) else v
                                                      for v in kpis.values()]})
    return rows.to_csv(index=False, quoting=csv.QUOTE_NONNUMERIC, lineterminator=CRLF)
