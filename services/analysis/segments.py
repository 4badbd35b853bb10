"""Segments of groups (KMeans) and a top-N risk table, each explained in plain words.

Groups are described by their average value, their volatility (coefficient of variation) and the
share of their rows flagged as anomalies. Risk per group, 0-100, is documented here and in the
API docs: 50 % anomaly share, 30 % volatility, 20 % decline over the span, each as the group's
percentile rank among all groups, so the top of the table are the groups that are worst on the
most of these at once.

A file mixing sensor types (°C, bar, ...) is profiled per group *and* type ("pump-01 · temperature
(°C)"), and a group's level is compared with the median of its own type (`level`), so "high" never
means "measured in a unit with bigger numbers".
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans

from services.analysis.kpis import trend_of
from services.analysis.sensor_types import split_by_type

RISK_WEIGHTS = {"anomaly_share": 0.5, "volatility": 0.3, "decline": 0.2}


def group_profile(df: pd.DataFrame, mapping, anomaly_rows: np.ndarray | None = None) -> pd.DataFrame:
    """One row per value of the first grouping column (per group and type when the file mixes sensor
    types): mean, volatility %, anomaly share, decline, level (mean relative to its type's median)."""
    group, value = mapping.groups[0], mapping.values[0]
    keys = df[group].to_numpy()
    kinds = np.full(len(df), "", dtype=object)
    slices = split_by_type(df, mapping)
    if len(slices) > 1:
        for part in slices:
            kinds[part.rows] = part.label
        keys = df[group].astype(str).to_numpy(dtype=object) + " · " + kinds
    frame = pd.DataFrame({"g": keys, "kind": kinds, "v": df[value].astype(float).to_numpy(),
                          "t": df[mapping.time].dt.tz_localize(None).to_numpy()})  # datetime64, not objects
    frame["anomaly"] = False if anomaly_rows is None else anomaly_rows
    stats = frame.groupby("g").agg(mean=("v", "mean"), std=("v", "std"), rows=("v", "size"),
                                   anomaly_share=("anomaly", "mean"), kind=("kind", "first"))
    stats["volatility"] = (stats["std"] / stats["mean"].abs().replace(0, np.nan) * 100).fillna(0.0)
    stats["level"] = stats["mean"] / stats.groupby("kind")["mean"].transform("median").abs().replace(0, np.nan)
    stats["level"] = stats["level"].fillna(1.0)
    per_time = frame.groupby(["g", "t"])["v"].mean()
    stats["decline"] = [-(trend_of(per_time.loc[g].to_numpy())[1] or 0.0) for g in stats.index]
    return stats


def segments(stats: pd.DataFrame, label: str, seed: int = 0) -> list[dict]:
    n = len(stats)
    if n < 3:
        return []
    k = 2 if n < 6 else (3 if n < 20 else 4)
    # Unscaled on purpose: a tenfold level difference (1 in log10) weighs like a 100-point difference
    # in coefficient of variation (1.0), so neither dimension's noise is blown up by standardising.
    mixed = stats["kind"].nunique() > 1 if "kind" in stats else False
    level_of = stats["level"] if mixed else stats["mean"]      # per type: relative to its own type's median
    features = np.column_stack([np.log10((level_of * (1000 if mixed else 1)).clip(lower=1)),
                                stats["volatility"] / 100])
    labels = KMeans(n_clusters=k, n_init=5, random_state=seed).fit_predict(features)
    overall_mean, overall_vol = level_of.median(), stats["volatility"].median()
    out = []
    for seg in sorted(set(labels), key=lambda s: -level_of[labels == s].mean()):
        members = stats[labels == seg]
        members_level = level_of[labels == seg].mean()
        level = "high" if members_level > 1.5 * overall_mean else (
            "low" if members_level < overall_mean / 1.5 else "average")
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
             "type": str(row["kind"]) if "kind" in row and row["kind"] else None,
             "volatility": round(float(row.volatility), 2), "anomaly_share": round(float(row.anomaly_share), 4),
             "decline_pct": round(float(row.decline) * 100, 2)} for idx, row in ordered.iterrows()]
