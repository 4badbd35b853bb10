"""Sensor types and their units: a file that mixes temperature (°C), vibration (mm/s) and pressure
(bar) is analysed per type, never averaged across units.

The type column is found by name (sensor_type, type, metric, measurement, kind, quantity: at most 12
distinct values), the unit column too (unit, units, uom). Rows are split by (type, unit), so °C and °F
readings of one type stay apart. A file with neither column is one series, as before.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from services.analysis.profiles import norm

TYPE_NAMES = ("sensortype", "type", "metric", "measurement", "kind", "quantity")
UNIT_NAMES = ("unit", "units", "uom")
MAX_TYPES = 12


@dataclass(frozen=True)
class TypeSlice:
    label: str            # "temperature (°C)"
    type: str | None
    unit: str | None
    rows: np.ndarray      # row positions in the frame it was split from


def _column(df: pd.DataFrame, mapping, names: tuple[str, ...]) -> str | None:
    taken = {mapping.time, *mapping.values}
    by_norm = {norm(c): c for c in df.columns if c not in taken}
    for name in names:
        column = by_norm.get(name)
        if column is not None and 0 < df[column].nunique(dropna=True) <= MAX_TYPES:
            return column
    return None


def type_columns(df: pd.DataFrame, mapping) -> tuple[str | None, str | None]:
    """(the sensor-type column, the unit column); either may be None."""
    return _column(df, mapping, TYPE_NAMES), _column(df, mapping, UNIT_NAMES)


def label_of(kind: str | None, unit: str | None) -> str:
    if kind and unit:
        return f"{kind} ({unit})"
    return kind or unit or "value"


def split_by_type(df: pd.DataFrame, mapping) -> list[TypeSlice]:
    """One slice per (type, unit) present in `df`, in name order; [] when the file has no such column."""
    type_column, unit_column = type_columns(df, mapping)
    keys = [c for c in (type_column, unit_column) if c]
    if not keys:
        return []
    text = pd.DataFrame({c: df[c].astype("string").fillna("") for c in keys})
    slices = []
    for key, rows in sorted(text.groupby(keys, sort=False).indices.items(), key=lambda item: str(item[0])):
        key = key if isinstance(key, tuple) else (key,)
        named = dict(zip(keys, key))
        kind, unit = named.get(type_column) or None, named.get(unit_column) or None
        slices.append(TypeSlice(label_of(kind, unit), kind, unit, np.asarray(rows)))
    return slices
