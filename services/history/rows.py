"""A scored micro-batch as history rows (what the history holds per event, by column), and the rollup
deltas history adds.

Pure. The writer thread calls this, not the pipeline: the hot path only hands the batch over. The
store keeps raw events in blocks (services.history.blocks); `event_rows` is their meaning event by event.
Rollups are summed first per finest cell (tenant, minute, store, dept / asset, type, sensor), one dict
update per event, and only then spread over the scopes and the minute and hour buckets, so a batch of
1,000 events costs a few hundred scope rows, not ten thousand.
"""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from itertools import chain
from typing import Iterable

from services.history.scopes import RETAIL, SENSOR, event_scopes

MINUTE, HOUR = 60, 3600
# A raw row is a tuple in this order: what history keeps of an event (services.history.blocks stores
# them column by column).
COLUMNS = ("tenant", "received", "ts", "timestamp", "event_id", "profile", "store", "dept", "asset_id", "sensor_id",
           "sensor_type", "value", "temperature", "is_holiday", "fuel_price", "cpi", "unemployment", "unit",
           "anomaly", "anomaly_score", "risk_score", "risk_level", "cluster", "model_version")
TENANT, RECEIVED, PROFILE, STORE, DEPT, ASSET, SENSOR_ID, SENSOR_TYPE, VALUE, ANOMALY, RISK = map(COLUMNS.index, (
    "tenant", "received", "profile", "store", "dept", "asset_id", "sensor_id", "sensor_type", "value", "anomaly",
    "risk_score"))
# A rollup delta: a tuple in this order (history_rollups' columns).
ROLLUP_COLUMNS = ("tenant", "scope", "bucket", "start", "count", "total", "low", "high", "anomalies", "max_risk")


def as_dict(row: tuple, columns: tuple[str, ...] = COLUMNS) -> dict:
    """A raw row (or, with ROLLUP_COLUMNS, a rollup delta) by column name."""
    return dict(zip(columns, row))


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


def event_rows(tenant: str, events: list[dict], scores, received: float) -> list[tuple]:
    """One row per event (COLUMNS); `scores`: services.scoring.models.Scores of these events, position
    for position. The score arrays become lists once, and a timestamp shared by consecutive events
    is parsed once."""
    anomaly, anomaly_score = scores.anomaly.tolist(), scores.anomaly_score.tolist()
    risk_score, risk_level, clusters = scores.risk_score.tolist(), scores.risk_level, scores.cluster
    version = int(scores.model_version)
    rows = []
    stamp, ts = None, 0.0
    for i, e in enumerate(events):
        if e["timestamp"] != stamp:
            stamp = e["timestamp"]
            ts = event_time(stamp)
        cluster = clusters[i]
        get = e.get
        if e["profile"] == SENSOR:
            store = dept = None
            value = e["value"]
        else:
            store, dept, value = e["store"], e["dept"], e["weekly_sales"]
        rows.append((tenant, received_time(e, received), ts, stamp, e["event_id"],
                     e["profile"], store, dept, get("asset_id"), get("sensor_id"), get("sensor_type"), value,
                     get("temperature"), get("is_holiday"), get("fuel_price"), get("cpi"), get("unemployment"),
                     get("unit") or None, 1 if anomaly[i] else 0, float(anomaly_score[i]), int(risk_score[i]),
                     risk_level[i], None if cluster is None else int(cluster), version))
    return rows


class RollupDeltas:
    """What rows add to the rollups, summed per finest cell until `scope_rows` spreads them. Cells are
    lists [count, total, low, high, anomalies, max_risk]."""

    def __init__(self):
        self.cells: dict[tuple, list] = {}

    def __len__(self) -> int:
        return len(self.cells)

    def add(self, rows: Iterable[tuple]) -> None:
        _accumulate(self.cells, (((r[TENANT], int(r[RECEIVED] // MINUTE) * MINUTE, r[PROFILE], r[STORE], r[DEPT],
                                   r[ASSET], r[SENSOR_TYPE], r[SENSOR_ID]), 1, r[VALUE], r[VALUE], r[VALUE],
                                  r[ANOMALY], r[RISK]) for r in rows))

    def add_cells(self, cells: Iterable[tuple]) -> None:
        """Figures already summed per finest cell: (key, count, total, low, high, anomalies, max_risk)
        (services.history.blocks.rollup_cells)."""
        _accumulate(self.cells, cells)

    def scope_rows(self) -> list[tuple]:
        """One delta (ROLLUP_COLUMNS) per (tenant, scope, bucket, start), sorted by key (writers that
        upsert the same rows at once then lock them in the same order: no deadlock)."""
        minutes: dict[tuple, list] = {}
        _accumulate(minutes, (((tenant, scope, MINUTE, minute), *cell)
                              for (tenant, minute, profile, store, dept, asset, kind, sensor), cell in self.cells.items()
                              for scope in _scopes(profile, store, dept, asset, kind, sensor)))
        hours: dict[tuple, list] = {}           # summed from the minutes: fewer rows than the cells
        _accumulate(hours, (((tenant, scope, HOUR, start - start % HOUR), *cell)
                            for (tenant, scope, _, start), cell in minutes.items()))
        return [(*key, *cell) for key, cell in sorted(chain(minutes.items(), hours.items()))]


def _accumulate(table: dict, figures: Iterable[tuple]) -> None:
    """Add each (key, count, total, low, high, anomalies, max_risk) to `table[key]` (one loop, merged
    inline: it runs per event and per cell, scope and bucket, hundreds of thousands of times a second)."""
    get = table.get
    for key, count, total, low, high, anomalies, risk in figures:
        cell = get(key)
        if cell is None:
            table[key] = [count, total, low, high, anomalies, risk]
            continue
        cell[0] += count
        cell[1] += total
        if low < cell[2]:
            cell[2] = low
        if high > cell[3]:
            cell[3] = high
        cell[4] += anomalies
        if risk > cell[5]:
            cell[5] = risk


@lru_cache(maxsize=100_000)
def _scopes(profile: str, store, dept, asset, kind, sensor) -> tuple[str, ...]:
    """A finest cell's scopes (the strings are built once per store/dept or sensor, not per batch)."""
    return event_scopes({"profile": SENSOR, "asset_id": asset, "sensor_type": kind, "sensor_id": sensor}
                        if profile == SENSOR else {"profile": RETAIL, "store": store, "dept": dept})
