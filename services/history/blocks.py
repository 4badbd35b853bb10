"""Scored batches as raw-history blocks, and what each block adds to the rollups.

Raw events are kept in blocks, one row per tenant x profile x minute per write
(services.storage.event_blocks: the layout, and why). This module builds a write's blocks with a few
list and array operations per column (no Python per event beyond reading its fields) and sums each
block's rollup cells with array operations: the writer thread's cost per event is a fraction of what a
row per event cost.
"""
from __future__ import annotations

import time
from operator import itemgetter

import numpy as np

from services.history.rows import MINUTE, event_time, received_time
from services.history.scopes import RETAIL, SENSOR
from services.storage.event_blocks import NULL_INT, NUMERIC, TEXT, Block, nullable_array, object_array, split

SOURCE = {RETAIL: {"value": "weekly_sales"}, SENSOR: {}}
OPTIONAL = {"temperature", "is_holiday", "fuel_price", "cpi", "unemployment", "unit"}
SCORED = ("seq", "received", "ts", "anomaly", "anomaly_score", "risk_score", "cluster", "model_version")
KINDS = {profile: dict(columns) for profile, columns in NUMERIC.items()}
# The numeric columns read from the events themselves (read as float64: every value fits one exactly).
FIELDS = {profile: tuple(name for name, _ in columns if name not in SCORED) for profile, columns in NUMERIC.items()}
_PROFILE = itemgetter("profile")


def batch_columns(profile: str, parts: list[tuple]) -> dict:
    """The columns of one tenant's `profile` events over a write's batches, `parts` in recorded order:
    (events, scores, positions or None for all of them, received default, first seq). The events are
    gathered first and each column is read over all of them at once: one C loop per column per write,
    not per batch (a micro-batch is a few hundred events; per-batch calls and the concatenation after
    them cost as much as reading the fields). `seq` numbers each batch's events from its first seq on."""
    events, seqs, defaults, taken = [], [], [], []
    for batch_events, scores, positions, received, seq in parts:
        if positions is None:
            events += batch_events
            take = None
            size = len(batch_events)
        else:
            events += [batch_events[i] for i in positions]
            take = np.asarray(positions, dtype=np.intp)
            size = len(positions)
        seqs.append((np.arange(size) if take is None else take) + seq)
        defaults.append((received, size))
        taken.append((scores, take, size))
    columns = {"received": _received(events, defaults), "seq": _joined(seqs)}
    stamps = list(map(itemgetter("timestamp"), events))
    parsed = {stamp: event_time(stamp) for stamp in set(stamps)}         # events of a moment share a stamp
    columns["ts"] = np.fromiter(map(parsed.__getitem__, stamps), float, len(stamps))
    for name in FIELDS[profile]:
        field = SOURCE[profile].get(name, name)
        if all(s.inputs is not None and field in s.inputs for s, _, _ in taken):    # scoring read it already
            values = _joined([s.inputs[field] if take is None else s.inputs[field][take] for s, take, _ in taken])
        else:
            try:                                        # numbers all there: one C loop
                values = np.fromiter(map(itemgetter(field), events), float, len(events))
            except KeyError:                            # some without the key (a None is read as NaN)
                values = np.array(_fields(events, field), dtype=float)
        columns[name] = _typed(values, KINDS[profile][name])
    for name in TEXT[profile]:
        if name != "risk_level":
            values = _fields(events, name)            # checked events: only an optional text can be empty
            columns[name] = object_array([v or None for v in values] if name in OPTIONAL and "" in values else values)
    columns.update(_score_columns(taken))
    return columns


def _joined(arrays: list[np.ndarray]) -> np.ndarray:
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)


def _score_columns(taken: list[tuple]) -> dict:
    """The scores' columns over the batches: (scores, positions taken or None for all, count) each."""
    def numbers(name, kind):
        return _joined([np.asarray(getattr(s, name), dtype=kind) if take is None
                        else np.asarray(getattr(s, name), dtype=kind)[take] for s, take, _ in taken])

    def items(name):
        out = []
        for s, take, _ in taken:
            values = getattr(s, name)
            out += values if take is None else [values[i] for i in take.tolist()]
        return out
    cluster = items("cluster")
    try:
        clusters = np.fromiter(cluster, np.int32, len(cluster))
    except TypeError:                                   # some have none
        clusters = nullable_array(cluster, "<i4")
    return {"anomaly": numbers("anomaly", np.int32), "anomaly_score": numbers("anomaly_score", float),
            "risk_score": numbers("risk_score", np.int32), "risk_level": object_array(items("risk_level")),
            "cluster": clusters,
            "model_version": _joined([np.full(size, int(s.model_version), dtype=np.int32) for s, _, size in taken])}


def _fields(events: list[dict], name: str) -> list:
    """Each event's `name` (None where an optional one is missing): one C loop when every event has the
    key, as checked events do."""
    try:
        return list(map(itemgetter(name), events))
    except KeyError:
        if name not in OPTIONAL:
            raise
        return [e.get(name) for e in events]


def _typed(values: np.ndarray, kind: str) -> np.ndarray:
    """A float64 column (NaN: missing) as the layout's type (integers: NULL_INT where missing)."""
    if kind == "<f8":
        return values
    missing = np.isnan(values)
    if missing.any():
        values = np.where(missing, NULL_INT, values)
    return values.astype(kind)


def _received(events: list[dict], defaults: list[tuple]) -> np.ndarray:
    """services.history.rows.received_time of each event, as an array (the pipeline's stamp when every
    event has one: the usual case, one C loop); `defaults`: (received, count) per batch, in order."""
    try:
        values = np.fromiter(map(itemgetter("_received"), events), float, len(events))     # None: NaN
        if not np.isnan(values).any():
            return values
    except KeyError:
        pass
    fallback = np.repeat([received for received, _ in defaults], [count for _, count in defaults])
    return np.array([received_time(e, d) for e, d in zip(events, fallback.tolist())], dtype=float)


def batch_blocks(batches: list, first_seq: int | None = None) -> list[Block]:
    """Recorded batches (tenant, events, scores, received) as blocks: each tenant's events of a profile
    are gathered over all the batches first: one block per minute per write, not one per batch.
    Events are numbered (`seq`, the tie-break of equal times) from `first_seq`, by default the
    nanosecond clock: later writes number higher, as rows with ids did."""
    gathered: dict[tuple, list[tuple]] = {}
    seq = time.time_ns() if first_seq is None else first_seq
    for tenant, events, scores, received in batches:
        if getattr(scores, "profile", None) in (RETAIL, SENSOR):       # scored by one model: one profile
            gathered.setdefault((tenant, scores.profile), []).append((events, scores, None, received, seq))
            seq += len(events)
            continue
        profiles = list(map(_PROFILE, events))
        for profile in (RETAIL, SENSOR):
            count = profiles.count(profile)
            if not count:
                continue
            positions = None if count == len(events) else [i for i, p in enumerate(profiles) if p == profile]
            gathered.setdefault((tenant, profile), []).append((events, scores, positions, received, seq))
        seq += len(events)
    blocks = []
    for (tenant, profile), parts in gathered.items():
        blocks += split(tenant, profile, batch_columns(profile, parts))
    return blocks


def rollup_cells(block: Block) -> list[tuple]:
    """What `block` adds to the rollups, per finest cell (services.history.rows.RollupDeltas' keys):
    (key, count, total, low, high, anomalies, max_risk), summed with array operations."""
    c = block.columns
    minutes = (np.floor_divide(c["received"], MINUTE) * MINUTE).astype(np.int64)
    if block.profile == RETAIL:
        keys = (c["dept"].astype(np.int64), c["store"].astype(np.int64))
        names = None
    else:
        triples = list(zip(c["asset_id"].tolist(), c["sensor_type"].tolist(), c["sensor_id"].tolist()))
        index = {triple: i for i, triple in enumerate(dict.fromkeys(triples))}
        names = list(index)
        keys = (np.fromiter(map(index.__getitem__, triples), np.int64, len(triples)),)
    order = np.lexsort((*keys, minutes))
    sorted_keys = [k[order] for k in (minutes, *keys)]
    changed = np.zeros(len(order), dtype=bool)
    changed[0] = True
    for k in sorted_keys:
        changed[1:] |= k[1:] != k[:-1]
    starts = np.flatnonzero(changed)
    value, risk = c["value"][order], c["risk_score"][order]
    figures = zip(*(k[starts].tolist() for k in sorted_keys), np.diff(np.r_[starts, len(order)]).tolist(),
                  np.add.reduceat(value, starts).tolist(), np.minimum.reduceat(value, starts).tolist(),
                  np.maximum.reduceat(value, starts).tolist(), np.add.reduceat(c["anomaly"][order], starts).tolist(),
                  np.maximum.reduceat(risk, starts).tolist())
    out = []
    for cell in figures:
        if names is None:
            minute, dept, store, count, total, low, high, anomalies, max_risk = cell
            key = (block.tenant, minute, RETAIL, store, dept, None, None, None)
        else:
            minute, code, count, total, low, high, anomalies, max_risk = cell
            asset, kind, sensor = names[code]
            key = (block.tenant, minute, SENSOR, None, None, asset, kind, sensor)
        out.append((key, count, total, low, high, anomalies, max_risk))
    return out
