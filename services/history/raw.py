"""Raw history read back from blocks: the blocks touching a range, decoded, cut to the query, in order.

A query's events come as chunks: dicts of equally long columns (numbers as arrays, text as object
arrays). In order, they are sorted by (clock, seq): events of equal times in the order they were
recorded. Blocks are read in the order of their first time on the query's clock, so once a block
starting at F is reached every event before F that can still come has been read: those are final and
leave as a chunk, the rest wait for the next blocks. Memory therefore holds the blocks that overlap in
time, not the range.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np
from sqlalchemy import and_, func, select

from services.history.query import HistoryQuery
from services.storage.event_blocks import SPAN, decode
from services.storage.schema import history_blocks as blocks

FLUSH_EVENTS = 20_000          # events decoded before the final part of them leaves (ordered reads)
PAGE_BLOCKS = 200              # block rows fetched at a time


def where(tenant: str, q: HistoryQuery, since: float | None = None):
    """The first-time column of q's clock and the WHERE selecting every block that may hold q's events."""
    first = blocks.c.first_received if q.clock == "received" else blocks.c.first_ts
    last = blocks.c.last_received if q.clock == "received" else blocks.c.last_ts
    start = max(q.start, since or q.start)
    return first, and_(blocks.c.tenant == tenant, blocks.c.profile == q.profile, first >= start - SPAN,
                       first < q.end, last >= start)


def _wanted(values: np.ndarray, allowed) -> np.ndarray:
    """Which values are among `allowed` (a few comparisons: np.isin costs 50 us a call on a small set)."""
    if len(allowed) <= 8:
        return np.logical_or.reduce([values == v for v in allowed])
    if values.dtype == object:
        allowed = set(allowed)
        return np.fromiter((v in allowed for v in values.tolist()), bool, len(values))
    return np.isin(values, np.asarray(allowed))


class RawReader:
    """Reads raw events of history_blocks through `stream(statement)` (the store's streaming cursor)."""

    def __init__(self, stream, scalar):
        self.stream, self.scalar = stream, scalar

    def upper_bound(self, tenant: str, q: HistoryQuery, since: float | None = None) -> int:
        """At least as many events as match q (the blocks' counts): exact when no block needs cutting."""
        _, condition = where(tenant, q, since)
        return int(self.scalar(select(func.coalesce(func.sum(blocks.c.count), 0)).where(condition)) or 0)

    def chunks(self, tenant: str, q: HistoryQuery, since: float | None = None, ordered: bool = True,
               fields: tuple[str, ...] | None = None) -> Iterator[dict]:
        """q's events (received from max(q.start, since) on the received clock) as column chunks of
        `fields` (None: every column); in order when `ordered`, else block by block."""
        first, condition = where(tenant, q, since)
        start = max(q.start, since or q.start)
        statement = (select(first, blocks.c.payload).where(condition)
                     .order_by(first, blocks.c.id))
        clock = "received" if q.clock == "received" else "ts"
        pending: list[dict] = []
        waiting, flush_at = 0, FLUSH_EVENTS
        for page in self.stream(statement, PAGE_BLOCKS):
            for block_first, payload in page:
                if ordered and waiting >= flush_at:
                    ready, pending = _final(pending, clock, block_first)
                    waiting = len(pending[0][clock]) if pending else 0
                    flush_at = max(FLUSH_EVENTS, 2 * waiting)      # what could not leave is not sorted again soon
                    if ready is not None:
                        yield ready
                chunk = self._cut(q, clock, start, decode(q.profile, payload),
                                  fields if fields is None or not ordered else (*fields, clock, "seq"))
                if chunk is None:
                    continue
                if not ordered:
                    yield chunk
                    continue
                pending.append(chunk)
                waiting += len(chunk[clock])
        if ordered and pending:
            ready, _ = _final(pending, clock, np.inf)
            yield ready

    @staticmethod
    def _cut(q: HistoryQuery, clock: str, start: float, columns, fields) -> dict | None:
        """The block's events inside [start, q.end) and the filters (its `fields`, all when None)."""
        times = columns[clock]
        keep = (times >= start) & (times < q.end)
        for name, allowed in (("store", q.stores), ("dept", q.depts), ("asset_id", q.assets), ("sensor_id", q.sensors),
                              ("sensor_type", q.sensor_types)):
            if allowed:
                keep &= _wanted(columns[name], allowed)
        if not keep.any():
            return None
        every = keep.all()
        names = columns if fields is None else [name for name in dict.fromkeys(fields) if name in columns]
        return {name: (columns[name] if every else columns[name][keep]) for name in names}


def _final(pending: list[dict], clock: str, frontier: float) -> tuple[dict | None, list[dict]]:
    """The pending events before `frontier`, sorted (None if none), and the rest (one chunk or none)."""
    merged = pending[0] if len(pending) == 1 else {name: np.concatenate([p[name] for p in pending])
                                                   for name in pending[0]}
    order = np.lexsort((merged["seq"], merged[clock]))
    merged = {name: values[order] for name, values in merged.items()}
    cut = int(np.searchsorted(merged[clock], frontier, side="left"))
    if cut == 0:
        return None, [merged]
    ready = {name: values[:cut] for name, values in merged.items()}
    rest = {name: values[cut:] for name, values in merged.items()}
    return ready, ([rest] if cut < len(merged[clock]) else [])
