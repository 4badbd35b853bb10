"""The one way Pulseboard shows numbers, money, percentages, durations and times on the server side.

Every page and figure builder formats through here, and assets/js/common.js (`pulseFormat`) follows the
same rules in the browser, so "Weekly sales" reads the same on Live and on Analysis:

- numbers: thousands separators, at most `digits` decimals, trailing zeros kept only for money;
- money: two decimals ("24,924.50"), a currency symbol only where the data has one;
- percentages: from a share (0.0163 -> "1.63 %"), with a thin no-break space so it never wraps;
- durations: "850 ms", "12.3 s", "4 min 05 s", "2 h 10 min";
- times: components.times (UTC on the server, rewritten in the browser's zone).
Missing values are an em dash everywhere. Text these return uses no-break characters inside a number so a
narrow card wraps between words, never inside one.
"""
from __future__ import annotations

import math

from components.times import time_cell, time_text  # noqa: F401  (one import for every format)

MISSING = "—"
NBSP = "\u00a0"          # between a number and its unit: "1.63 %" never breaks


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def number(value, digits: int = 2) -> str:
    """12345.678 -> "12,345.68"; whole numbers without decimals ("1,200")."""
    if _missing(value):
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) or float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    text = f"{value:,.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def money(value, currency: str = "") -> str:
    """Two decimals always: 24924.5 -> "24,924.50" (with `currency` before it: "$24,924.50")."""
    if _missing(value):
        return MISSING
    sign = "-" if value < 0 else ""
    return f"{sign}{currency}{abs(value):,.2f}"


def percent(share, digits: int = 2) -> str:
    """A share as a percentage: 0.0163 -> "1.63 %"."""
    if _missing(share):
        return MISSING
    return f"{share * 100:,.{digits}f}{NBSP}%"


def signed_percent(share, digits: int = 2) -> str:
    """A change as a percentage with its sign: 0.0887 -> "+8.87 %"."""
    if _missing(share):
        return MISSING
    return f"{share * 100:+,.{digits}f}{NBSP}%"


def duration(seconds) -> str:
    """850 ms, 12.3 s, 4 min 05 s, 2 h 10 min, 3 d 4 h."""
    if _missing(seconds):
        return MISSING
    s = float(seconds)
    if s < 1:
        return f"{s * 1000:.0f}{NBSP}ms"
    if s < 60:
        return f"{s:.1f}{NBSP}s"
    whole = int(round(s))
    if whole < 3600:
        return f"{whole // 60}{NBSP}min {whole % 60:02d}{NBSP}s"
    if whole < 86400:
        return f"{whole // 3600}{NBSP}h {whole % 3600 // 60}{NBSP}min"
    return f"{whole // 86400}{NBSP}d {whole % 86400 // 3600}{NBSP}h"


def count(value, one: str, many: str | None = None) -> str:
    """1 -> "1 alert", 1200 -> "1,200 alerts"."""
    if _missing(value):
        return MISSING
    return f"{number(value)} {one if value == 1 else (many or one + 's')}"


# Column names as people read them (tables, exports' headers stay as the data's own names).
HEADERS = {
    "anomaly_share": "Anomaly share", "anomaly_score": "Anomaly score", "risk_score": "Risk score",
    "risk_level": "Risk level", "weekly_sales": "Weekly sales", "is_holiday": "Holiday", "fuel_price": "Fuel price",
    "cpi": "CPI", "unemployment": "Unemployment", "store": "Store", "dept": "Dept", "asset_id": "Asset",
    "sensor_id": "Sensor", "sensor_type": "Sensor type", "value": "Value", "unit": "Unit", "timestamp": "Time",
    "received": "Received", "cluster": "Cluster", "count": "Count", "mean": "Mean", "total": "Total", "rows": "Rows",
    "anomalies": "Anomalies", "max_risk": "Max risk", "line": "Line", "score": "Score", "time": "Time",
    "segment": "Segment", "created": "Created", "last_used": "Last used", "username": "User", "role": "Role",
}


def header(column: str) -> str:
    """`anomaly_share` -> "Anomaly share" (known names), else the name with its first letter up."""
    return HEADERS.get(column) or column.replace("_", " ").capitalize()
