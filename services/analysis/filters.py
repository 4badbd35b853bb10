"""Filters from the analysis page: a multi-select of the first grouping column and a date range."""
from __future__ import annotations

import pandas as pd


def apply_filters(df: pd.DataFrame, mapping, groups=None, start=None, end=None) -> pd.DataFrame:
    mask = pd.Series(True, index=df.index)
    if groups and mapping.groups:
        column = df[mapping.groups[0]]
        mask &= column.astype(str).isin([str(g) for g in groups])
    times = df[mapping.time]
    if start:
        mask &= times >= pd.Timestamp(start, tz="UTC")
    if end:
        mask &= times < pd.Timestamp(end, tz="UTC") + pd.Timedelta(days=1)
    return df[mask]
