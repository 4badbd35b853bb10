"""The rollup deltas history adds, and the two times of an event.

Pure. The writer thread calls this, not the pipeline: the hot path only hands the batch over. Rollups
are summed first per finest cell (tenant, minute, store, dept / asset, type, sensor: a raw block's
cells, services.history.blocks.rollup_cells), and only then spread over the scopes and the minute and
hour buckets, so a write of thousands of events costs a few hundred scope rows, not ten thousand.
"""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from itertools import chain
from typing import Iterable

from services.history.scopes import RETAIL, SENSOR, event_scopes

MINUTE, HOUR = 60, 3600
# A rollup delta: a tuple in this order (history_rollups' columns).
ROLLUP_COLUMNS = ("tenant", "scope", "bucket", "start", "count", "total", "low", "high", "anomalies", "max_risk")


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


class RollupDeltas:
    """What a write adds to the rollups, summed per finest cell (tenant, minute, profile, store, dept,
    asset, type, sensor) until `scope_rows` spreads them. Cells are lists [count, total, low, high,
    anomalies, max_risk]."""

    def __init__(self):
        self.cells: dict[tuple, list] = {}

    def __len__(self) -> int:
        return len(self.cells)

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
