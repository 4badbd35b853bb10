"""Segments of groups (KMeans) and a top-N risk table, each explained in plain words.

Groups are described by their average value, their volatility (coefficient of variation) and the
share of their rows flagged as anomalies. Risk per group, 0-100, is documented here and in the
API docs: 50 % anomaly share, 30 % volatility, 20 % decline over the span, each as the group's
percentile rank among all groups, so the top of the table are the groups that are worst on the
most of these at once.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans

from services.analysis.kpis import trend_of

RISK_WEIGHTS = {"anomaly_share": 0.5, "volatility": 0.3, "decline": 0.2}


def group_profile(df: pd.DataFrame, mapping, anomaly_rows: np.ndarray | None = None) -> pd.DataFrame:
    """One row per value of the first grouping column: mean, volatility %, anomaly share, decline."""
    group, value = mapping.groups[0], mapping.values[0]
    frame = pd.DataFrame({"g": df[group].to_numpy(), "v": df[value].astype(float).to_numpy(),
                          "t": df[mapping.time].dt.tz_localize(None).to_numpy()})  # datetime64, not objects
    frame["anomaly"] = False if anomaly_rows is None else anomaly_rows
    stats = frame.groupby("g").agg(mean=("v", "mean"), std=("v", "std"), rows=("v", "size"),
                                   anomaly_share=("anomaly", "mean"))
    stats["volatility"] = (stats["std"] / stats["mean"].abs().replace(0, np.nan) * 100).fillna(0.0)
    per_time = frame.groupby(["g", "t"])["v"].sum()
    stats["decline"] = [-trend_of(per_time.loc[g].to_numpy())[1] for g in stats.index]
    return stats


def segments(stats: pd.DataFrame, label: str, seed: int = 0) -> list[dict]:
    n = len(stats)
    if n < 3:
        return []
    k = 2 if n < 6 else (3 if n < 20 else 4)
    # Unscaled on purpose: a tenfold level difference (1 in log10) weighs like a 100-point difference
    # in coefficient of variation (1.0), so neither dimension's noise is blown up by standardising.
    features = np.column_stack([np.log10(stats["mean"].clip(lower=1)), stats["volatility"] / 100])
    labels = KMeans(n_clusters=k, n_init=5, random_state=seed).fit_predict(features)
    overall_mean, overall_vol = stats["mean"].median(), stats["volatility"].median()
    out = []
    for seg in sorted(set(labels), key=lambda s: -stats["mean"][labels == s].mean()):
        members = stats[labels == seg]
        level = "high" if members["mean"].mean() > 1.5 * overall_mean else (
            "low" if members["mean"].mean() < overall_mean / 1.5 else "average")
        steadiness = "volatile" if members["volatility"].mean() > overall_vol * 1.2 else "steady"
        names = [str(x) for x in members.index]
        out.append({"size": len(members), "members": names[:50], "mean": round(float(members["mean"].mean()), 2),
                    "volatility": round(float(members["volatility"].mean()), 2),
                    "description": f"{len(members)} {label}{'s' if len(members) != 1 else ''} with {level}, "
                                   f"{steadiness} values"})
    return out


def risk_table(stats: pd.DataFrame, top: int = 10) -> list[dict]:
    if stats.empty:
        return []
    score = sum(w * stats[col].rank(pct=True) for col, w in RISK_WEIGHTS.items()) * 100
    ordered = stats.assign(risk=score.round(1)).sort_values("risk", ascending=False).head(top)
    return [{"group": str(idx), "risk": float(row.risk), "mean": round(float(row["mean"]), 2),
             "volatility": round(float(row.volatility), 2), "anomaly_share": round(float(row.anomaly_share), 4),
             "decline_pct": round(float(row.decline) * 100, 2)} for idx, row in ordered.iterrows()]
