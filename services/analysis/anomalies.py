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


def find_anomalies(df: pd.DataFrame, mapping, line_of_row: np.ndarray, top: int = 20, seed: int = 0) -> dict:
    value = df[mapping.values[0]].astype(float)
    valid = value.notna().to_numpy()
    if valid.sum() < 10:
        return {"count": 0, "share": 0.0, "top": []}
    if mapping.groups:
        grouped = value.groupby([df[g] for g in mapping.groups])
        median = grouped.transform("median")
        spread = grouped.transform("std").replace(0, np.nan)
        relative = ((value - median) / spread.fillna(value.std(ddof=0) or 1.0)).fillna(0.0)
    else:
        relative = (value - value.median()) / (value.std(ddof=0) or 1.0)
    features = np.column_stack([np.sign(value) * np.log1p(value.abs()), relative.clip(-50, 50)])[valid]
    rng = np.random.default_rng(seed)
    sample = features if len(features) <= FIT_SAMPLE else features[rng.choice(len(features), FIT_SAMPLE, False)]
    forest = IsolationForest(n_estimators=100, contamination=0.01, random_state=seed).fit(sample)
    scores = -forest.score_samples(features)
    flagged = scores > -forest.offset_
    rows = np.flatnonzero(valid)
    order = np.argsort(-scores)[:top]
    listing = []
    for i in order:
        row = rows[i]
        item = {"line": int(line_of_row[row]), "time": df[mapping.time].iloc[row].isoformat(),
                "value": float(value.iloc[row]), "score": round(float(scores[i]), 4),
                "relative_to_group": round(float(relative.iloc[row]), 2)}
        for g in mapping.groups:
            v = df[g].iloc[row]
            item[g] = v.item() if hasattr(v, "item") else v
        listing.append(item)
    return {"count": int(flagged.sum()), "share": round(float(flagged.mean()), 4), "top": listing}
