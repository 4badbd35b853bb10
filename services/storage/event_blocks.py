"""How the stream's raw history is laid out in the database: blocks of events, one row per tenant x
profile (retail or sensor) x minute per write, holding its events' columns encoded together.

Why blocks: one database row per event cost about 5 us of the embedded pipeline's interpreter per event
on SQLite (binding two dozen values) and, on PostgreSQL, a table row and six index entries per event
in the server process; both capped the pipeline (issues 12 and 13). A block costs one row and two index
entries for all of a write's events of that minute. Blocks are not split by store or asset: a reader
pays a fixed cost per block (tens of microseconds) against a few nanoseconds per event to test a
filter on its columns, so one block of a thousand events reads faster than forty-five of twenty.

A block never spans more than SPAN seconds of received time nor of event time (the grouping key holds
both), so a reader finds every block touching [start, end) from its first times alone:
`first >= start - SPAN and first < end`. Numbers are stored as raw little-endian arrays (float64 keeps
every value exactly; NaN, or the integer NULL, stands for a missing value); text columns joined by a
unit separator (JSON in the rare column that holds one). Nothing is compressed: zlib cost a
microsecond an event (ids are random), more than everything else together. The payload starts with
FORMAT, so a later layout can read older blocks. services.history.blocks builds blocks from scored
batches; revision 0007 moved the rows of the former history_events table into blocks with `from_rows`.
"""
from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

RETAIL, SENSOR = "retail", "sensor"
FORMAT = 1
SPAN = 60.0                      # seconds of received time (and of event time) one block covers at most
NULL_INT = -(2 ** 31)            # an integer column's missing value
_HEADER = struct.Struct("<BI")   # format, number of events
_TEXT = struct.Struct("<BI")     # a text column's encoding, its length in bytes
_JOINED, _JSON = 0, 1
_SEP, _NUL = "\x1f", "\x00"

# Per profile: the numeric columns (name, dtype) in payload order, then the text columns. `seq` numbers
# events in the order they were recorded: the tie-break of equal times.
NUMERIC = {
    RETAIL: (("received", "<f8"), ("ts", "<f8"), ("seq", "<i8"), ("store", "<i4"), ("dept", "<i4"), ("value", "<f8"),
             ("temperature", "<f8"), ("is_holiday", "<i4"), ("fuel_price", "<f8"), ("cpi", "<f8"), ("unemployment", "<f8"),
             ("anomaly", "<i4"), ("anomaly_score", "<f8"), ("risk_score", "<i4"), ("cluster", "<i4"),
             ("model_version", "<i4")),
    SENSOR: (("received", "<f8"), ("ts", "<f8"), ("seq", "<i8"), ("value", "<f8"), ("anomaly", "<i4"),
             ("anomaly_score", "<f8"), ("risk_score", "<i4"), ("cluster", "<i4"), ("model_version", "<i4")),
}
TEXT = {RETAIL: ("timestamp", "event_id", "risk_level"),
        SENSOR: ("timestamp", "event_id", "asset_id", "sensor_id", "sensor_type", "unit", "risk_level")}


@dataclass
class Block:
    """One row of history_blocks: whose events, and their `columns` (name -> array; text as object arrays)."""
    tenant: str
    profile: str
    columns: dict

    def __len__(self) -> int:
        return len(self.columns["received"])

    def row(self) -> dict:
        c = self.columns
        return {"tenant": self.tenant, "profile": self.profile,
                "first_received": float(c["received"].min()), "last_received": float(c["received"].max()),
                "first_ts": float(c["ts"].min()), "last_ts": float(c["ts"].max()), "count": len(self),
                "payload": encode(self.profile, c)}


def encode(profile: str, columns: dict) -> bytes:
    n = len(columns["received"])
    parts = [_HEADER.pack(FORMAT, n)]         # arrays join as they are (their buffers): one copy in all
    parts += [np.ascontiguousarray(columns[name], dtype=kind) for name, kind in NUMERIC[profile]]
    for name in TEXT[profile]:
        parts += _pack_text(columns[name].tolist())
    return b"".join(parts)


def _pack_text(values: list) -> tuple[bytes, bytes]:
    """A text column: its values joined by a unit separator, NULL as a lone NUL (one C call each way);
    as JSON in the rare column where a value holds the separator or is a lone NUL itself."""
    try:
        joined = _SEP.join(values)                      # every value a text: the usual case, one C call
        if _NUL in joined and _NUL in values:           # a lone NUL would read back as NULL
            joined = None
    except TypeError:                                   # a NULL among them
        joined = None if _NUL in values else _SEP.join([_NUL if v is None else v for v in values])
    if joined is not None and joined.count(_SEP) != len(values) - 1:
        joined = None
    mode, data = (_JOINED, joined.encode()) if joined is not None else (_JSON, json.dumps(values).encode())
    return _TEXT.pack(mode, len(data)), data


def _unpack_text(data: bytes, mode: int) -> list:
    if mode == _JSON:
        return json.loads(data)
    values = data.decode().split(_SEP)
    if _NUL in values:
        values = [None if v == _NUL else v for v in values]
    return values


class Decoded(Mapping):
    """A payload's columns, each decoded when first asked for (a reader that cuts a block by time and
    dept reads two of its twenty columns unless something matches): numeric ones as read-only array
    views of the payload, text ones as object arrays."""

    def __init__(self, profile: str, payload: bytes):
        version, n = _HEADER.unpack_from(payload)
        if version != FORMAT:
            raise ValueError(f"history block format {version} is not readable by this release (reads {FORMAT})")
        self.payload, self.n, self.columns = payload, n, {}
        self.places, offset = {}, _HEADER.size
        for name, kind in NUMERIC[profile]:
            self.places[name] = (kind, offset, None)
            offset += np.dtype(kind).itemsize * n
        for name in TEXT[profile]:
            mode, size = _TEXT.unpack_from(payload, offset)
            self.places[name] = (None, offset + _TEXT.size, (mode, size))
            offset += _TEXT.size + size

    def __getitem__(self, name: str):
        values = self.columns.get(name)
        if values is None:
            kind, offset, text = self.places[name]
            if text is None:
                values = np.frombuffer(self.payload, kind, self.n, offset)
            else:
                mode, size = text
                values = object_array(_unpack_text(self.payload[offset:offset + size], mode))
            self.columns[name] = values
        return values

    def __iter__(self):
        return iter(self.places)

    def __len__(self) -> int:
        return len(self.places)


def decode(profile: str, payload: bytes) -> Decoded:
    return Decoded(profile, payload)


def nullable_array(values: list, kind: str) -> np.ndarray:
    """Numbers with None as the column's missing value (NaN for floats, NULL_INT for integers)."""
    if kind == "<f8":
        return np.array(values, dtype=float)              # None becomes NaN
    if None in values:
        values = [NULL_INT if v is None else v for v in values]
    return np.array(values, dtype=kind)


def object_array(values: list) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def split(tenant: str, profile: str, columns: dict) -> list[Block]:
    """`columns` (one profile's events of one tenant) as blocks: one per SPAN-long window of received
    time and of event time, events in their original order within each."""
    windows = np.floor(columns["received"] / SPAN).astype(np.int64), np.floor(columns["ts"] / SPAN).astype(np.int64)
    if (windows[0] == windows[0][0]).all() and (windows[1] == windows[1][0]).all():
        return [Block(tenant, profile, columns)]                # the usual write: one minute
    order = np.lexsort((np.arange(len(windows[0])), windows[1], windows[0]))
    group = np.stack([windows[0][order], windows[1][order]])
    bounds = [0, *(np.flatnonzero((group[:, 1:] != group[:, :-1]).any(axis=0)) + 1).tolist(), len(order)]
    ordered = {name: values[order] for name, values in columns.items()}     # then each block is a slice
    return [Block(tenant, profile, {name: values[first:end] for name, values in ordered.items()})
            for first, end in zip(bounds, bounds[1:])]


def from_rows(rows: list[dict]) -> list[Block]:
    """Rows of the former history_events table (by column name) as blocks: revision 0007's upgrade
    (a row's id becomes its `seq`)."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault((row["tenant"], row["profile"]), []).append({**row, "seq": row["id"]})
    out = []
    for (tenant, profile), some in groups.items():
        columns = {name: nullable_array([r[name] for r in some], kind) for name, kind in NUMERIC[profile]}
        columns.update({name: object_array([r[name] for r in some]) for name in TEXT[profile]})
        out += split(tenant, profile, columns)
    return out


def to_rows(tenant: str, profile: str, payload: bytes) -> list[dict]:
    """A block's events as rows of the former history_events table: revision 0007's downgrade."""
    columns = decode(profile, payload)
    names = [name for name, _ in NUMERIC[profile] if name != "seq"] + list(TEXT[profile])
    rows = []
    for values in zip(*(columns[name].tolist() for name in names)):
        row = {name: (None if v is None or v != v or v == NULL_INT else v) for name, v in zip(names, values)}
        rows.append({**row, "tenant": tenant, "profile": profile})
    return rows
