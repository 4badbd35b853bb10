"""History as CSV, streamed a chunk of a few thousand rows at a time, so memory stays flat for any range.

Safe to open in a spreadsheet like the analysis export (services.analysis.export): a text cell starting
with = + - @ TAB or CR gets a leading apostrophe. Numbers are written as stored, in their shortest
round-trip form (Python's repr), so a value reads back exactly as it was received. Records end with
CRLF; a cell holding a comma, a quote or a line break is quoted.

Raw events (millions of rows) come as column chunks (services.history.raw): each column becomes a list
of cell texts at once (the received times through numpy's datetime formatting, numbers by repr, the
guard and the quoting only where a producer's text needs them) and each row is one `%` of a line
format. Rollup rows (a few thousand at most) go through the csv module (`csv_chunks`).
"""
from __future__ import annotations

import csv
import io
from itertools import repeat
from typing import Iterable, Iterator

import numpy as np

from services.analysis.export import CRLF, DANGEROUS, neutralise
from services.storage.event_blocks import NULL_INT

CHUNK_ROWS = 2000
PRODUCER_TEXT = ("event_id", "asset_id", "sensor_id", "sensor_type", "unit")   # written by whoever sent the event
NEEDS_QUOTES = ',"\r\n'
_DANGEROUS_STARTS = frozenset(DANGEROUS)


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


def raw_csv_text(chunk: dict, profile: str, fields: tuple[str, ...]) -> str:
    """A chunk's rows as CSV text, `fields` in order (received first); a field the profile does not
    have is empty."""
    n = len(chunk["received"])
    columns = []
    for name in fields:
        values = chunk.get(name)
        if name == "received":
            ms = np.floor(values * 1000 + 0.5).astype(np.int64).astype("datetime64[ms]")
            columns.append(np.datetime_as_string(ms, unit="ms").tolist())
        elif name == "profile":
            columns.append(repeat(profile, n))
        elif values is None:
            columns.append(repeat("", n))
        elif values.dtype == object:
            columns.append(_cells(values.tolist(), guard=name in PRODUCER_TEXT))
        elif values.dtype.kind == "f":
            cells = list(map(float.__repr__, values.tolist()))
            for i in np.flatnonzero(np.isnan(values)).tolist():
                cells[i] = ""
            columns.append(cells)
        else:
            cells = list(map(int.__repr__, values.tolist()))
            for i in np.flatnonzero(values == NULL_INT).tolist():
                cells[i] = ""
            columns.append(cells)
    line = "%sZ" + ",%s" * (len(fields) - 1) + CRLF
    return "".join([line % row for row in zip(*columns)])


def _cells(values: list, guard: bool) -> list[str]:
    """Text cells: None empty, a producer's text guarded against formulas, quoted where CSV needs it."""
    if None in values:
        values = ["" if v is None else v for v in values]
    if guard:
        values = ["'" + v if v[:1] in _DANGEROUS_STARTS else v for v in values]
    joined = "".join(values)
    if any(c in joined for c in NEEDS_QUOTES):
        values = ['"' + v.replace('"', '""') + '"' if any(c in v for c in NEEDS_QUOTES) else v for v in values]
    return values
