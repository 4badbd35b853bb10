"""The history writer in a child process, so that keeping history costs the pipeline's interpreter
almost nothing (embedded mode's default: HISTORY_WRITER).

Why a process: the embedded pipeline is bound by one interpreter lock (one core busy, the other nearly
idle), and the thread writer's work (reading every field of every event, the blocks, the rollups, the
encoding) took 13-14 % of it. Here the pipeline thread pickles each scored batch at `record` time,
while its events are still in the cache (about 0.4 us an event; the batch is then freed as if history
were off), and a sender thread writes the bytes to the child's stdin; the child runs the ordinary
HistoryWriter (services.history.writer) on the other core and reports its figures as JSON lines on
stdout. Same face as HistoryWriter: record / start / stop / flush / hurry / stats.

Frames on the pipe: a header (kind, length) and a pickle. Kind BATCH is (tenant, events, scores,
received); kind HURRY asks the child to write what waits now. Only the parent's own pickles cross it.
If the child dies, what it had not written is counted as `lost` and a new child starts (with backoff);
the pipeline never waits for it. The database target goes to the child in its environment, never on a
command line (it may hold a password).
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import pickle
import signal
import struct
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path
from typing import Callable

from services.background import BackgroundThread
from services.history.writer import HistoryWriter, settled

log = logging.getLogger(__name__)

TARGET_ENV = "PULSE_HISTORY_TARGET"
BATCH, HURRY = 0, 1
HEADER = struct.Struct("<BQ")
SEND_EVERY = 0.02                # the sender writes what waits this often
PIPE_BYTES = 1 << 20
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
REPORT_EVERY = 0.05              # the child's figures, at most this often (when they changed)
RESTART_FIRST, RESTART_MAX = 0.5, 10.0
ROOT = Path(__file__).resolve().parents[2]


class HistoryWriterProcess(BackgroundThread):
    thread_name = "history-sender"

    def __init__(self, target: str, max_pending: int = 500_000, clock: Callable[[], float] = time.time):
        self.target, self.max_pending, self.clock = target, max_pending, clock
        self._frames: deque = deque()            # (kind, event count, pickle) waiting to be sent
        self._pending_events = 0
        self._cond = threading.Condition()
        self.recorded = self.dropped = self.lost = self.restarts = 0
        self._child_figures = {"written": 0, "dropped": 0, "failed": 0, "errors": 0, "pending": 0,
                               "last_flush_ms": 0.0, "connected": True}
        self._base = dict.fromkeys(("written", "dropped", "failed", "errors"), 0)   # of children gone
        self._child: subprocess.Popen | None = None
        self._sent_to_child = 0
        self._reports: threading.Thread | None = None
        self._init_thread()

    # -- the pipeline's side ----------------------------------------------------------------------
    def record(self, tenant: str, events: list[dict], scores) -> None:
        """Pickle the batch now (its events are hot) and queue the bytes. Never blocks on the child."""
        if not events:
            return
        data = pickle.dumps((tenant, events, scores, self.clock()), protocol=pickle.HIGHEST_PROTOCOL)
        with self._cond:                        # no wake-up: the sender comes by every SEND_EVERY
            self._frames.append((BATCH, len(events), data))
            self._pending_events += len(events)
            self.recorded += len(events)
            while self._pending_events > self.max_pending and len(self._frames) > 1:
                _, count, _ = self._frames.popleft()
                self._pending_events -= count
                self.dropped += count

    def hurry(self) -> None:
        with self._cond:
            self._frames.append((HURRY, 0, b""))
            self._cond.notify_all()

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until everything recorded so far is written, dropped, failed or lost; False on timeout."""
        self.hurry()
        return settled(self._cond, lambda: self.recorded, self._accounted, timeout)

    def stats(self) -> dict:
        with self._cond:
            child = self._child_figures
            return {"recorded": self.recorded, "written": self._base["written"] + child["written"],
                    "pending": self._pending_events + child["pending"],
                    "dropped": self.dropped + self._base["dropped"] + child["dropped"] + self.lost,
                    "errors": self._base["errors"] + child["errors"], "last_flush_ms": child["last_flush_ms"],
                    "connected": child["connected"], "lost": self.lost, "restarts": self.restarts,
                    "process": self._child.pid if self._child is not None else None}

    def _accounted(self) -> int:
        child = self._child_figures
        done = ("written", "dropped", "failed")
        return self.dropped + self.lost + sum(self._base[k] + child[k] for k in done)

    # -- the sender thread ------------------------------------------------------------------------
    def _wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _run(self) -> None:
        backoff = RESTART_FIRST
        while True:
            child = self._spawn()
            if child is not None:
                started = time.monotonic()
                clean = self._feed(child)
                self._reap(child, clean)
                if clean:
                    return
                if time.monotonic() - started > 30:
                    backoff = RESTART_FIRST
            if self._stop.wait(backoff):
                return
            backoff = min(backoff * 2, RESTART_MAX)

    def _spawn(self) -> subprocess.Popen | None:
        env = {**os.environ, TARGET_ENV: self.target}
        try:
            child = subprocess.Popen([sys.executable, "-m", "services.history.writer_process"], cwd=ROOT, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
        except OSError as exc:
            log.error("history writer process could not start (%s); history waits", exc)
            return None
        try:                                # room for SEND_EVERY of batches: a send seldom waits for the child
            fcntl.fcntl(child.stdin.fileno(), F_SETPIPE_SZ, PIPE_BYTES)
        except OSError:
            pass                            # not Linux, or above the system's limit: the default pipe
        with self._cond:
            self._child, self._sent_to_child = child, 0
        self._reports = threading.Thread(target=self._read_reports, args=(child,), name="history-reports", daemon=True)
        self._reports.start()
        return child

    def _feed(self, child: subprocess.Popen) -> bool:
        """Send frames until stopping (then close the pipe: the child writes what waits and exits);
        True if it ended that way, False if the child went away."""
        pipe = child.stdin.fileno()
        while True:
            with self._cond:
                while not self._frames and not self._stop.is_set():
                    self._cond.wait(SEND_EVERY)
                    if child.poll() is not None:
                        return False
                frames = list(self._frames)
                self._frames.clear()
            if not frames:                  # stopping, and everything is sent
                child.stdin.close()
                return True
            try:                            # one write for all of them: a syscall, not one per batch
                _write_all(pipe, b"".join(part for kind, _, data in frames for part in (HEADER.pack(kind, len(data)), data)))
            except OSError:
                with self._cond:            # they go back: the next child takes them
                    self._frames.extendleft(reversed(frames))
                return False
            with self._cond:
                count = sum(count for _, count, _ in frames)
                self._pending_events -= count
                self._sent_to_child += count
            self._stop.wait(SEND_EVERY)     # a few dozen wake-ups a second, not one per micro-batch

    def _reap(self, child: subprocess.Popen, clean: bool) -> None:
        """Wait for the child to end; what was sent to it and not accounted for by its last report is lost."""
        try:
            code = child.wait(timeout=60 if clean else 5)
        except subprocess.TimeoutExpired:
            child.kill()
            code = child.wait()
        self._reports.join(5)               # its last figures are in
        with self._cond:
            figures = self._child_figures
            lost = max(0, self._sent_to_child - figures["written"] - figures["dropped"] - figures["failed"])
            for key in self._base:
                self._base[key] += figures[key]
            self._child_figures = {**figures, "written": 0, "dropped": 0, "failed": 0, "errors": 0, "pending": 0}
            self._child = None
            self.lost += lost
            self.restarts += 0 if clean else 1
            self._cond.notify_all()
        if not clean and not self._stop.is_set():
            log.error("history writer process ended (exit code %s); %d events it had not written are lost; "
                      "starting another", code, lost)

    def _read_reports(self, child: subprocess.Popen) -> None:
        """The child's figures, one JSON object a line, as they change."""
        for line in child.stdout:
            try:
                figures = json.loads(line)
            except ValueError:
                continue
            with self._cond:
                self._child_figures = {**self._child_figures, **figures}
                self._cond.notify_all()

    def stop(self, timeout: float = 60.0) -> None:
        """Send what waits, let the child write it, and wait for it to end."""
        super().stop(timeout)


def embedded_history_writer(choice: str, db):
    """The writer for HISTORY_WRITER: "process" (this module) or "thread" (HistoryWriter); "auto" is the
    process, except where gevent has patched threading (gunicorn's gevent worker): there the sender would
    be a greenlet, and a pipe write that blocks would stall every socket of the worker."""
    from services.history.store import SqlHistoryStore
    if choice == "auto":
        choice = "thread" if _gevent_threads() else "process"
    if choice == "thread":
        return HistoryWriter(SqlHistoryStore(db))
    target = str(db.path) if db.path is not None else db.url.render_as_string(hide_password=False)
    return HistoryWriterProcess(target)


def _gevent_threads() -> bool:
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and monkey.is_module_patched("threading")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


# -- the child -----------------------------------------------------------------------------------------

def _read_exact(stream, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = stream.read(left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def child_main() -> int:
    from services.history.store import SqlHistoryStore
    from services.storage.db import Database
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s history-writer %(levelname)s %(message)s")
    signal.signal(signal.SIGINT, signal.SIG_IGN)    # Ctrl-C stops the server, which closes our stdin: we end then
    db = Database(os.environ[TARGET_ENV], migrate=False)
    writer = HistoryWriter(SqlHistoryStore(db))
    writer.start()
    done = threading.Event()
    out = sys.stdout

    def report() -> None:
        last = None
        while True:
            stopping = done.wait(REPORT_EVERY)
            figures = writer.stats()
            figures["failed"] = writer.failed
            if figures != last:
                out.write(json.dumps(figures) + "\n")
                out.flush()
                last = figures
            if stopping:
                return
    reporter = threading.Thread(target=report, name="history-report", daemon=True)
    reporter.start()
    stdin = sys.stdin.buffer
    try:
        while (header := _read_exact(stdin, HEADER.size)) is not None:
            kind, size = HEADER.unpack(header)
            data = _read_exact(stdin, size)
            if data is None:
                break
            if kind == HURRY:
                writer.hurry()
                continue
            tenant, events, scores, received = pickle.loads(data)
            writer.record(tenant, events, scores, received)
    finally:
        writer.stop(timeout=60)         # writes what waits first
        done.set()
        reporter.join(10)
        db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(child_main())
