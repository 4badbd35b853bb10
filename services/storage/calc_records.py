"""What happened to a user's page calculations, kept where every process can see it (SQLite in DATA_DIR).

A page calculation runs as a Dash background callback, in another process (diskcache) or on a
Celery worker. Its progress also goes to the browser through Dash, but that channel only exists
while the page polls: leave the page and the result would be lost. So the job also writes here
(started, progress, completed with the result, failed, cancelled), and the page shows the user's
latest record when it opens: a run finished while you were away is there when you come back.

The record is opened by the web process when the run is submitted, before the job exists (message
SUBMITTED), and the job only updates it. A record "running" with no report for `stale_seconds`
(CALC_STALE_SECONDS) is read as failed (DEAD): whether its process was killed before its first report or mid-run, or its Celery
worker was lost, it is never stuck at running. The open page reads the record every second while a
run is on, so it shows "Failed" at most `stale_seconds` (+ 1 s) after the job's last report. Only the
20 newest records per user and kind are kept.
"""
from __future__ import annotations

import json
import time
import uuid

from sqlalchemy import delete, insert, select, update

from services.storage.db import Database
from services.storage.schema import calc_records as table

STALE_SECONDS = 30.0            # the default of CALC_STALE_SECONDS
SUBMITTED = "waiting for the job to start"
DEAD = "The calculation stopped unexpectedly (its worker process ended); run it again."
KEEP = 20


class CalcRecords:
    def __init__(self, db: Database, clock=time.time, stale_seconds: float = STALE_SECONDS):
        self.db = db
        self.clock = clock
        self.stale_seconds = stale_seconds

    def start(self, user_id: int, kind: str) -> str:
        record_id, now = uuid.uuid4().hex, self.clock()
        with self.db.connect() as conn:
            conn.execute(insert(table).values(id=record_id, user_id=user_id, kind=kind, status="running", progress=0,
                                              message=SUBMITTED, started_at=now, updated_at=now))
            mine = (table.c.user_id == user_id, table.c.kind == kind)
            newest = select(table.c.id).where(*mine).order_by(table.c.started_at.desc()).limit(KEEP)
            conn.execute(delete(table).where(*mine, table.c.id.not_in(newest)))
        return record_id

    def _update(self, record_id: str, **fields) -> None:
        fields["updated_at"] = self.clock()
        with self.db.connect() as conn:
            conn.execute(update(table).where(table.c.id == record_id, table.c.status == "running").values(**fields))

    def progress(self, record_id: str, percent: int, message: str) -> None:
        self._update(record_id, progress=int(percent), message=message)

    def complete(self, record_id: str, result: dict) -> None:
        self._update(record_id, status="completed", progress=100, message="done", result=json.dumps(result))

    def fail(self, record_id: str, message: str, status: str = "failed") -> None:
        self._update(record_id, status=status, message=message)

    def latest(self, user_id: int, kind: str) -> dict | None:
        rows = self.db.query(select(table).where(table.c.user_id == user_id, table.c.kind == kind)
                             .order_by(table.c.started_at.desc()).limit(1))
        if not rows:
            return None
        record = dict(rows[0])
        record["result"] = json.loads(record["result"]) if record["result"] else None
        if record["status"] == "running" and self.clock() - record["updated_at"] > self.stale_seconds:
            record.update(status="failed", message=DEAD)
        return record
