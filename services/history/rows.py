"""A scored micro-batch as history: one row per event, and the rollup deltas it adds.

Pure. The writer thread calls this, not the pipeline: the hot path only hands the batch over.
Rollups are summed first per finest cell (tenant, minute, store, dept / asset, type, sensor), one dict
update per event, and only then spread over the scopes and the minute and hour buckets, so a batch of
1,000 events costs a few hundred scope rows, not ten thousand.
"""
from __future__ import annotations

from datetime import datetime
from typing import Iterable

from services.history.scopes import RETAIL, SENSOR, event_scopes

MINUTE, HOUR = 60, 3600
RETAIL_EXTRAS = ("temperature", "is_holiday", "fuel_price", "cpi", "unemployment")


def received_time(event: dict, default: float) -> float:
    """When the event was admitted: stamped once per batch by the pipeline (`_received`, so the live
    message and the history row say the same); else a Redis stream entry id starts with the
    milliseconds Redis stamped it with; in-process events were admitted moments ago (`default`)."""
    stamped = event.get("_received")
    if stamped is not None:
        return stamped
    entry = event.get("_entry")
    if entry:
        return int(entry.split("-", 1)[0]) / 1000
    return default


def event_time(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp).timestamp()


def event_rows(tenant: str, events: list[dict], scores, received: float) -> list[dict]:
    """`scores`: services.scoring.models.Scores of these events, position for position."""
    rows = []
    for i, e in enumerate(events):
        sensor = e["profile"] == SENSOR
        cluster = scores.cluster[i]
        row = {"tenant": tenant, "received": received_time(e, received), "ts": event_time(e["timestamp"]),
               "timestamp": e["timestamp"], "event_id": e["event_id"], "profile": e["profile"],
               "store": None if sensor else e["store"], "dept": None if sensor else e["dept"],
               "asset_id": e.get("asset_id"), "sensor_id": e.get("sensor_id"), "sensor_type": e.get("sensor_type"),
               "value": e["value"] if sensor else e["weekly_sales"], "unit": e.get("unit") or None,
               "anomaly": int(bool(scores.anomaly[i])), "anomaly_score": float(scores.anomaly_score[i]),
               "risk_score": int(scores.risk_score[i]), "risk_level": scores.risk_level[i],
               "cluster": None if cluster is None else int(cluster), "model_version": int(scores.model_version)}
        for name in RETAIL_EXTRAS:
            row[name] = e.get(name)
        rows.append(row)
    return rows


def _merge(cell: list, count: int, total: float, low: float, high: float, anomalies: int, risk: int) -> None:
    cell[0] += count
    cell[1] += total
    cell[2] = min(cell[2], low)
    cell[3] = max(cell[3], high)
    cell[4] += anomalies
    cell[5] = max(cell[5], risk)


class RollupDeltas:
    """What rows add to the rollups, summed per finest cell until `scope_rows` spreads them."""

    def __init__(self):
        self.cells: dict[tuple, list] = {}

    def __len__(self) -> int:
        return len(self.cells)

    def add(self, rows: Iterable[dict]) -> None:
        cells = self.cells
        for r in rows:
            minute = int(r["received"] // MINUTE) * MINUTE
            key = (r["tenant"], minute, r["profile"], r["store"], r["dept"], r["asset_id"], r["sensor_type"],
                   r["sensor_id"])
            value = r["value"]
            cell = cells.get(key)
            if cell is None:
                cells[key] = [1, value, value, value, r["anomaly"], r["risk_score"]]
            else:
                _merge(cell, 1, value, value, value, r["anomaly"], r["risk_score"])

    def scope_rows(self) -> list[dict]:
        """One row per (tenant, scope, bucket, start): the deltas to add, sorted by key (writers that
        upsert the same rows at once then lock them in the same order: no deadlock)."""
        out: dict[tuple, list] = {}
        for (tenant, minute, profile, store, dept, asset, kind, sensor), cell in self.cells.items():
            event = ({"profile": SENSOR, "asset_id": asset, "sensor_type": kind, "sensor_id": sensor}
                     if profile == SENSOR else {"profile": RETAIL, "store": store, "dept": dept})
            for scope in event_scopes(event):
                for bucket, start in ((MINUTE, minute), (HOUR, minute - minute % HOUR)):
                    key = (tenant, scope, bucket, start)
                    merged = out.get(key)
                    if merged is None:
                        out[key] = list(cell)
                    else:
                        _merge(merged, *cell)
        return [{"tenant": k[0], "scope": k[1], "bucket": k[2], "start": k[3], "count": v[0], "total": v[1],
                 "low": v[2], "high": v[3], "anomalies": v[4], "max_risk": v[5]} for k, v in sorted(out.items())]
