"""What happened to a user's page calculations, kept where every process can see it (SQLite in DATA_DIR).

A page calculation runs as a Dash background callback, in another process (diskcache) or on a
Celery worker. Its progress also goes to the browser through Dash, but that channel only exists
while the page polls: leave the page and the result would be lost. So the job also writes here
(started, progress, completed with the result, failed, cancelled), and the page shows the user's
latest record when it opens: a run finished while you were away is there when you come back.

The record is opened by the web process when the run is submitted, before the job exists (message
SUBMITTED), and the job only updates it. A record "running" with no report for STALE_SECONDS is read
as failed (DEAD): whether its process was killed before its first report or mid-run, or its Celery
worker was lost, it is never stuck at running. The open page reads the record every second while a
run is on, so it shows "Failed" at most STALE_SECONDS (+ 1 s) after the job's last report. Only the
20 newest records per user and kind are kept.
"""
from __future__ import annotations

import json
import time
import uuid

from services.storage.db import Database

STALE_SECONDS = 30.0
SUBMITTED = "waiting for the job to start"
DEAD = "The calculation stopped unexpectedly (its worker process ended); run it again."
KEEP = 20


class CalcRecords:
    def __init__(self, db: Database, clock=time.time):
        self.db = db
        self.clock = clock

    def start(self, user_id: int, kind: str) -> str:
        record_id, now = uuid.uuid4().hex, self.clock()
        with self.db.connect() as conn:
            conn.execute("INSERT INTO calc_records (id, user_id, kind, status, progress, message, started_at, updated_at)"
                         " VALUES (?,?,?,?,?,?,?,?)", (record_id, user_id, kind, "running", 0, SUBMITTED, now, now))
            conn.execute("DELETE FROM calc_records WHERE user_id = ? AND kind = ? AND id NOT IN (SELECT id FROM "
                         "calc_records WHERE user_id = ? AND kind = ? ORDER BY started_at DESC LIMIT ?)",
                         (user_id, kind, user_id, kind, KEEP))
        return record_id

    def _update(self, record_id: str, **fields) -> None:
        fields["updated_at"] = self.clock()
        names = ", ".join(f"{k} = ?" for k in fields)
        with self.db.connect() as conn:
            conn.execute(f"UPDATE calc_records SET {names} WHERE id = ? AND status = 'running'",
                         (*fields.values(), record_id))

    def progress(self, record_id: str, percent: int, message: str) -> None:
        self._update(record_id, progress=int(percent), message=message)

    def complete(self, record_id: str, result: dict) -> None:
        self._update(record_id, status="completed", progress=100, message="done", result=json.dumps(result))

    def fail(self, record_id: str, message: str, status: str = "failed") -> None:
        self._update(record_id, status=status, message=message)

    def latest(self, user_id: int, kind: str) -> dict | None:
        rows = self.db.query("SELECT * FROM calc_records WHERE user_id = ? AND kind = ? ORDER BY started_at DESC "
                             "LIMIT 1", (user_id, kind))
        if not rows:
            return None
        record = dict(rows[0])
        record["result"] = json.loads(record["result"]) if record["result"] else None
        if record["status"] == "running" and self.clock() - record["updated_at"] > STALE_SECONDS:
            record.update(status="failed", message=DEAD)
        return record
