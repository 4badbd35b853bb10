"""History as CSV, streamed a chunk of a few thousand rows at a time, so memory stays flat for any range.

Safe to open in a spreadsheet like the analysis export (services.analysis.export): a text cell starting
with = + - @ TAB or CR gets a leading apostrophe. Numbers are written as stored, in their shortest
round-trip form (Python's repr), so a value reads back exactly as it was received. Records end with
CRLF; a cell holding a comma, a quote or a line break is quoted.

Raw events (millions of rows) come as column chunks (services.history.raw): each column becomes a list
of cell texts at once (`RawCsv`: repeated values' texts remembered, the guard and the quoting only where
a producer's text needs them) and each row is one str.join. Rollup rows (a few thousand at most) go
through the csv module (`csv_chunks`).
"""
from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from itertools import repeat
from operator import add
from typing import Iterable, Iterator

import numpy as np

from services.analysis.export import CRLF, DANGEROUS, neutralise
from services.storage.event_blocks import NULL_INT

CHUNK_ROWS = 2000
PRODUCER_TEXT = ("event_id", "asset_id", "sensor_id", "sensor_type", "unit")   # written by whoever sent the event
NEEDS_QUOTES = ',"\r\n'
_DANGEROUS_STARTS = frozenset(DANGEROUS)
_NUL = "\x00"
_SECONDS = tuple(f"{s:02d}" for s in range(60))
_MILLIS = tuple(f".{ms:03d}Z" for ms in range(1000))
SMALL_INTS = 4096


def csv_chunks(rows: Iterable[tuple]) -> Iterator[str]:
    """The header and rows as CSV text, a few thousand rows per chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=CRLF)
    pending = 0
    for row in rows:
        writer.writerow([neutralise(v) if type(v) is str else v for v in row])
        pending += 1
        if pending >= CHUNK_ROWS:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    if pending:
        yield buffer.getvalue()


class RawCsv:
    """Raw chunks (services.history.raw) as CSV text, `fields` in order (received first; a field the
    profile does not have is empty), for one export. Each column becomes its cells with array
    operations where it can: a constant column is one text repeated, small integers come from a table,
    a column of few distinct numbers formats each once (numpy's unique), and only a column of many
    (the sales) is formatted value by value. Rows are joined with str.join (a `%` format per row cost
    three times as much)."""

    def __init__(self, profile: str, fields: tuple[str, ...]):
        self.profile, self.fields = profile, fields
        self.minutes: dict[int, str] = {}
        self.small = np.array([str(i) for i in range(SMALL_INTS)], dtype=object)

    def __call__(self, chunk: dict) -> str:
        n = len(chunk["received"])
        columns = []
        for name in self.fields:
            values = chunk.get(name)
            if name == "received":
                columns.append(self._times(values))
            elif name == "profile":
                columns.append(repeat(self.profile, n))
            elif values is None:
                columns.append(repeat("", n))
            elif values.dtype == object:
                columns.append(_cells(values.tolist(), guard=name in PRODUCER_TEXT))
            else:
                columns.append(self._numbers(values))
        return CRLF.join(map(",".join, zip(*columns))) + CRLF

    def _numbers(self, values: np.ndarray) -> list[str]:
        """Numbers as their exact shortest text (repr), a missing one (NaN, the integer NULL) empty."""
        missing = np.isnan(values) if values.dtype.kind == "f" else values == NULL_INT
        if missing.any():
            cells = self._numbers(values[~missing]) if not missing.all() else []
            out = np.full(len(values), "", dtype=object)
            out[~missing] = cells
            return out.tolist()
        if values.dtype.kind == "f" and np.signbit(values).any() and (values == 0).any():
            return list(map(repr, values.tolist()))         # -0.0 equals 0.0 to numpy, not in text
        low, high = values.min(), values.max()
        if low == high:
            return [repr(values[:1].tolist()[0])] * len(values)
        if values.dtype.kind == "i" and low >= 0 and high < SMALL_INTS:
            return self.small[values].tolist()
        distinct, where = np.unique(values, return_inverse=True)
        if len(distinct) > len(values) // 4:
            return list(map(repr, values.tolist()))
        return np.array(list(map(repr, distinct.tolist())), dtype=object)[where].tolist()

    def _times(self, received: np.ndarray) -> list[str]:
        """`2026-12-02T10:00:00.250Z`: rounded to the millisecond half up (as services.history.store.iso);
        each minute's text made once."""
        minutes, rest = np.divmod(np.floor(received * 1000 + 0.5).astype(np.int64), 60_000)
        seconds, millis = np.divmod(rest, 1000)
        minutes = minutes.tolist()
        for minute in set(minutes).difference(self.minutes):
            self.minutes[minute] = datetime.fromtimestamp(minute * 60, timezone.utc).strftime("%Y-%m-%dT%H:%M:")
        return list(map(add, map(add, map(self.minutes.__getitem__, minutes), map(_SECONDS.__getitem__, seconds.tolist())),
                        map(_MILLIS.__getitem__, millis.tolist())))


def _cells(values: list, guard: bool) -> list[str]:
    """Text cells: None empty, a producer's text guarded against formulas, quoted where CSV needs it."""
    if None in values:
        values = ["" if v is None else v for v in values]
    joined = _NUL + _NUL.join(values)
    if guard and any(_NUL + c in joined for c in DANGEROUS):       # every value follows a NUL: one search each
        values = ["'" + v if v[:1] in _DANGEROUS_STARTS else v for v in values]
    if any(c in joined for c in NEEDS_QUOTES):
        values = ['"' + v.replace('"', '""') + '"' if any(c in v for c in NEEDS_QUOTES) else v for v in values]
    return values
