"""History as CSV, streamed a chunk of a few thousand rows at a time, so memory stays flat for any range.

Safe to open in a spreadsheet like the analysis export (services.analysis.export): a text cell starting
with = + - @ TAB or CR gets a leading apostrophe. Numbers are written as stored, in their shortest
round-trip form (Python's repr; PostgreSQL's float text), so a value reads back exactly as it was
received. Records end with CRLF; a cell holding a comma, a quote or a line break is quoted.

Raw events (millions of rows) are formatted mostly by the database: the select (`raw_csv_select`) gives
the received time as ISO text, text cells already guarded, NULLs as empty text, and a flag for the rare
row whose text needs quoting; Python then writes each row with one `%` format (about 4 us a row, where
the csv module on the plain rows took three times that). Rollup rows (a few thousand at most) go
through the csv module (`csv_chunks`).
"""
from __future__ import annotations

import csv
import io
from typing import Iterable, Iterator

from sqlalchemy import Integer, Text, case, cast, func, literal, or_

from services.analysis.export import CRLF, DANGEROUS, neutralise

CHUNK_ROWS = 2000
PRODUCER_TEXT = ("event_id", "asset_id", "sensor_id", "sensor_type", "unit")   # written by whoever sent the event
NEEDS_QUOTES = ',"\r\n'


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


def raw_csv_select(table, fields: tuple[str, ...], dialect: str) -> list:
    """The columns to select for the raw export of `fields` (received first): a quoting flag, then one
    column per field, ready for `raw_csv_lines`."""
    columns = [_quoting_flag(table, dialect)]
    for name in fields:
        column = table.c[name]
        if name == "received":
            columns.append(_received_text(column, dialect))
        elif name in PRODUCER_TEXT:
            text = func.coalesce(column, "", type_=Text)
            columns.append(case((func.substr(text, 1, 1).in_(DANGEROUS), literal("'", Text) + text), else_=text))
        elif dialect == "postgresql":          # float8 as text is its shortest exact form there
            columns.append(func.coalesce(cast(column, Text), "") if not isinstance(column.type, Text) else column)
        elif column.nullable:
            columns.append(func.ifnull(column, ""))
        else:
            columns.append(column)
    return columns


def raw_csv_lines(rows: list[tuple]) -> str:
    """Rows of a `raw_csv_select` as CSV text; Python writes the numbers (`%s` of a float is its repr)."""
    line = _line_format(len(rows[0]) - 1) if rows else ""
    return "".join([_quoted(r) if r[0] else line % r for r in rows])


def _line_format(fields: int) -> str:
    return "%.0s" + ",".join(["%s"] * fields) + CRLF        # the flag is consumed, not written


def _quoted(row: tuple) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=CRLF).writerow(row[1:])
    return buffer.getvalue()


def _quoting_flag(table, dialect: str):
    """True for a row with a producer's text holding a comma, a quote or a line break."""
    flag = None
    for name in PRODUCER_TEXT:
        column = table.c[name]
        found = (column.op("~")(f"[{NEEDS_QUOTES}]") if dialect == "postgresql"
                 else column.op("GLOB")(f"*[{NEEDS_QUOTES}]*"))
        flag = found if flag is None else or_(flag, found)
    return func.coalesce(flag, False)


def _received_text(received, dialect: str):
    """Epoch seconds as `2026-12-02T10:00:00.250Z`, rounded to the millisecond half up, as
    services.history.store.iso rounds them."""
    if dialect == "postgresql":
        ms = func.floor(received * 1000 + 0.5)
        return func.to_char(func.timezone("UTC", func.to_timestamp(ms / 1000)), 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"',
                            type_=Text)
    ms = cast(received * 1000 + 0.5, Integer)                # truncation: the floor, for any time after 1970
    return (func.strftime("%Y-%m-%dT%H:%M:%S", ms / 1000, "unixepoch", type_=Text)
            + func.printf(".%03dZ", ms % 1000, type_=Text))
