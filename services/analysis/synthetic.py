"""Synthetic CSVs shaped like the real layouts, for benchmarks, tests and demos."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HOLIDAY_WEEKS = {1, 31, 42, 47}  # weeks (from the first Friday of Feb) that hold the four US holidays


def generate_walmart_csv(path, stores: int = 45, depts: int = 99, weeks: int = 143, rows: int | None = 421_570,
                         seed: int = 0) -> Path:
    """A Walmart store-sales file (Store, Dept, Date, Weekly_Sales, IsHoliday, Temperature, Fuel_Price,
    CPI, Unemployment). `rows` keeps a random subset of store x dept x week, like the real, sparse file."""
    rng = np.random.default_rng(seed)
    s, d, w = np.meshgrid(np.arange(1, stores + 1), np.arange(1, depts + 1), np.arange(weeks), indexing="ij")
    s, d, w = s.ravel(), d.ravel(), w.ravel()
    if rows is not None and rows < len(s):
        keep = np.sort(rng.choice(len(s), rows, replace=False))
        s, d, w = s[keep], d[keep], w[keep]
    holiday = np.isin(w % 52, list(HOLIDAY_WEEKS))
    level = rng.lognormal(9.3, 1.1, (stores, depts))[s - 1, d - 1]
    season = 1 + 0.15 * np.sin(2 * np.pi * w / 52)
    sales = level * season * np.where(holiday, 1.2, 1.0) * rng.normal(1, 0.08, len(s))
    frame = pd.DataFrame({
        "Store": s, "Dept": d,
        "Date": (pd.Timestamp("2010-02-05") + pd.to_timedelta(w * 7, unit="D")).strftime("%Y-%m-%d"),
        "Weekly_Sales": sales.round(2), "IsHoliday": np.where(holiday, "TRUE", "FALSE"),
        "Temperature": (60 + 20 * np.sin(2 * np.pi * (w - 10) / 52) + rng.normal(0, 5, len(s))).round(2),
        "Fuel_Price": (3.2 + 0.3 * rng.random(len(s))).round(3),
        "CPI": (180 + s * 0.8).round(4), "Unemployment": (5 + (s % 7)).round(3),
    })
    frame.to_csv(path, index=False)
    return Path(path)
