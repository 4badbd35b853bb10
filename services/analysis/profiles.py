"""Which columns mean what: built-in profiles (retail, sensor) and mappings for any other CSV.

Header names are compared normalised (lower case, no spaces, underscores or dashes), so
"Weekly_Sales", "weekly sales" and "WeeklySales" are the same column.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from services.analysis.errors import AnalysisError

TIME_HINTS = ("date", "time", "timestamp", "day", "week", "month", "period", "datetime")
GROUP_HINTS = ("store", "dept", "department", "asset", "sensor", "region", "site", "category", "id", "name", "type")
FLAG_HINTS = ("holiday", "flag", "promo", "event", "special")


def norm(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", str(name)).lower()


@dataclass(frozen=True)
class Mapping:
    time: str
    values: tuple[str, ...]
    groups: tuple[str, ...] = ()
    flag: str | None = None
    profile: str = "custom"

    def required_columns(self) -> list[str]:
        return [self.time, *self.values, *self.groups, *([self.flag] if self.flag else [])]

    def to_dict(self) -> dict:
        return {"time": self.time, "values": list(self.values), "groups": list(self.groups), "flag": self.flag}


def _find(columns, *names) -> str | None:
    by_norm = {norm(c): c for c in columns}
    for n in names:
        if n in by_norm:
            return by_norm[n]
    return None


def time_column_hint(columns: list[str]) -> str | None:
    """The likely time column from header names alone (read as categories: dates repeat a lot)."""
    exact = _find(columns, "date", "timestamp", "datetime", "time")
    return exact or next((c for c in columns if any(h in norm(c) for h in TIME_HINTS)), None)


def detect_profile(df: pd.DataFrame) -> tuple[str, Mapping]:
    cols = list(df.columns)
    store, dept, date, sales = (_find(cols, "store"), _find(cols, "dept", "department"), _find(cols, "date"),
                                _find(cols, "weeklysales"))
    if store and dept and date and sales:
        return "retail", Mapping(date, (sales,), (store, dept), _find(cols, "isholiday", "holiday"), "retail")
    ts, asset, value = _find(cols, "timestamp", "time", "datetime"), _find(cols, "assetid", "asset"), _find(cols, "value")
    sensor = _find(cols, "sensorid", "sensortype", "sensor")
    if ts and asset and value and sensor:
        return "sensor", Mapping(ts, (value,), (asset, sensor), None, "sensor")
    missing_retail = [n for n, c in (("Store", store), ("Dept", dept), ("Date", date), ("Weekly_Sales", sales)) if not c]
    if len(missing_retail) <= 1 and (store or sales):
        raise AnalysisError("missing_columns", f"This looks like a retail sales file but is missing the column(s): "
                            f"{', '.join(missing_retail)}.", 422)
    suggestion = suggest_mapping(df)
    if suggestion is None:
        raise AnalysisError("needs_mapping", "Could not tell which columns hold the time and the values; choose them "
                            "in the column mapping.", 422)
    return "custom", suggestion


def _looks_like_time(series: pd.Series) -> bool:
    sample = series.dropna().astype(str).head(50)
    if sample.empty or pd.api.types.is_numeric_dtype(series):
        return False
    parsed = pd.to_datetime(sample, errors="coerce", format="mixed", utc=True)   # UTC: offsets may differ
    return parsed.notna().mean() > 0.9


def suggest_mapping(df: pd.DataFrame) -> Mapping | None:
    """A best guess from names and types; None when no time column or no numeric column exists."""
    cols = list(df.columns)
    times = [c for c in cols if any(h in norm(c) for h in TIME_HINTS) and _looks_like_time(df[c])]
    times = times or [c for c in cols if _looks_like_time(df[c])]
    flags = [c for c in cols if pd.api.types.is_bool_dtype(df[c]) and any(h in norm(c) for h in FLAG_HINTS)]
    numeric = [c for c in cols if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])]
    groups = [c for c in cols if c not in times and c not in flags and df[c].nunique(dropna=True) <= max(50, len(df) // 20)
              and (any(h in norm(c) for h in GROUP_HINTS) or not pd.api.types.is_numeric_dtype(df[c]))]
    values = [c for c in numeric if c not in groups]
    if not times or not values:
        return None
    return Mapping(times[0], (values[0],), tuple(groups[:2]), flags[0] if flags else None, "custom")


def validate_mapping(df: pd.DataFrame, mapping: Mapping) -> None:
    missing = [c for c in mapping.required_columns() if c not in df.columns]
    if missing:
        raise AnalysisError("missing_columns", f"Missing required column(s): {', '.join(missing)}. The file has: "
                            f"{', '.join(map(str, df.columns))}.", 422)
    if not mapping.values:
        raise AnalysisError("missing_columns", "Choose at least one value column.", 422)
