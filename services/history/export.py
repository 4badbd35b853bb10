"""History as CSV, streamed: rows are formatted a chunk at a time and handed on, so memory stays flat
for any range. Safe to open in a spreadsheet like the analysis export (services.analysis.export): a
text cell starting with = + - @ TAB or CR gets a leading apostrophe; numbers are written as stored
(Python's shortest round-trip form, so a value reads back exactly as it was received).
"""
from __future__ import annotations

import csv
import io
from typing import Iterable, Iterator

from services.analysis.export import CRLF, neutralise

CHUNK_ROWS = 2000


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
