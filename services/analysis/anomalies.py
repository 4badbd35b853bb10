"""Anomalies in an uploaded dataset: IsolationForest over each row's value and how far it sits
from its group's usual level (a big store's normal week is not an anomaly; a small one's spike is).

The forest is fitted on a sample (at most 20,000 rows) and scores every row in one vectorised
call, so a 400k-row file costs a fraction of a second.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest

FIT_SAMPLE = 20_000


def anomaly_scores(df: pd.DataFrame, mapping, seed: int = 0) -> tuple[np.ndarray, np.ndarray, pd.Series]:
    """(score per row, NaN where no value; flagged per row; value relative to its group)."""
    value = df[mapping.values[0]].astype(float)
    valid = value.notna().to_numpy()
    scores = np.full(len(df), np.nan)
    flagged = np.zeros(len(df), dtype=bool)
    if mapping.groups:
        grouped = value.groupby([df[g] for g in mapping.groups])
        median = grouped.transform("median")
        spread = grouped.transform("std").replace(0, np.nan)
        relative = ((value - median) / spread.fillna(value.std(ddof=0) or 1.0)).fillna(0.0)
    else:
        relative = (value - value.median()) / (value.std(ddof=0) or 1.0)
    if valid.sum() < 10:
        return scores, flagged, relative
    features = np.column_stack([np.sign(value) * np.log1p(value.abs()), relative.clip(-50, 50)])[valid]
    rng = np.random.default_rng(seed)
    sample = features if len(features) <= FIT_SAMPLE else features[rng.choice(len(features), FIT_SAMPLE, False)]
    forest = IsolationForest(n_estimators=50, contamination=0.01, random_state=seed).fit(sample)
    scores[valid] = -forest.score_samples(features)
    flagged[valid] = scores[valid] > -forest.offset_
    return scores, flagged, relative


def find_anomalies(df: pd.DataFrame, mapping, line_of_row: np.ndarray, top: int = 20, seed: int = 0,
                   scored: tuple | None = None, types: np.ndarray | None = None) -> dict:
    """The count and share of anomalous rows and the `top` most anomalous, with their file lines (and
    their sensor type, when `types` labels each row)."""
    scores, flagged, relative = scored or anomaly_scores(df, mapping, seed)
    valid = ~np.isnan(scores)
    if not valid.any():
        return {"count": 0, "share": 0.0, "top": []}
    value = df[mapping.values[0]].astype(float)
    order = np.argsort(np.where(valid, -scores, np.inf))[:min(top, int(valid.sum()))]
    listing = []
    for row in order:
        item = {"line": int(line_of_row[row]), "time": df[mapping.time].iloc[row].isoformat(),
                "value": float(value.iloc[row]), "score": round(float(scores[row]), 4),
                "relative_to_group": round(float(relative.iloc[row]), 2)}
        for g in mapping.groups:
            v = df[g].iloc[row]
            item[g] = v.item() if hasattr(v, "item") else v
        if types is not None:
            item["type"] = types[row]
        listing.append(item)
    return {"count": int(flagged.sum()), "share": round(float(flagged[valid].mean()), 4), "top": listing}
