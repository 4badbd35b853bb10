"""Calculations requested over the WebSocket (`calculate`), run in the background, reported per user.

A request becomes `calculation_update` messages on the requesting user's own `calculations` topic
(every socket of that user hears them, nobody else's): `started` (0 %), `processing` with the
progress (Monte Carlo, at most 5 a second, coalesced per calculation), then `completed` with the
result or `failed` with the reason (and the field, for bad input). A finished or failed job also
becomes a `notification` for that user.

The numbers are computed on real OS threads (a small pool): under gunicorn's gevent workers a
plain `threading.Thread` is a greenlet, and a second of numpy in a greenlet would freeze every
socket of that worker. The driver that reports progress stays on the server's own concurrency
(a greenlet or a thread) and only reads a counter the computation updates. Each user may have
MAX_PER_USER calculations running; more are refused with a `failed` update, never queued forever.
Anything that goes wrong inside a job ends it as `failed`: a job is never left "running".
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from services import finance

from services.realtime import protocol
from services.realtime.hub import Hub, Message, user_topic
from services.realtime.notifications import notify_user

log = logging.getLogger(__name__)

MAX_PER_USER = 2
PROGRESS_INTERVAL = 0.2


def native_executor(workers: int):
    """A pool of real OS threads, also under gevent's monkey-patching."""
    try:
        from gevent import monkey
        if monkey.is_module_patched("threading"):
            from gevent.threadpool import ThreadPoolExecutor as GeventPool
            return GeventPool(workers)
    except ImportError:
        pass
    return ThreadPoolExecutor(workers, thread_name_prefix="calc")


class _Progress:
    """Written by the computing thread, read by the driver: a plain attribute is enough."""

    def __init__(self):
        self.done, self.total = 0, 0

    def __call__(self, done: int, total: int) -> None:
        self.done, self.total = done, total


class CalculationJobs:
    def __init__(self, hub: Hub, workers: int = 2, max_per_user: int = MAX_PER_USER):
        self.hub = hub
        self.max_per_user = max_per_user
        self._pool = None
        self._workers = workers
        self._running: dict[tuple, int] = {}
        self._lock = threading.Lock()
        self.completed = self.failed = 0

    def _executor(self):
        if self._pool is None:          # made on first use: nothing starts at import or app creation
            self._pool = native_executor(self._workers)
        return self._pool

    def submit(self, tenant: str, user_id, request: dict) -> None:
        calc_id, kind, params = request["calculation_id"], request["calculation_type"], request["parameters"]
        key = (tenant, user_id)
        with self._lock:
            if self._running.get(key, 0) >= self.max_per_user:
                refused = True
            else:
                refused = False
                self._running[key] = self._running.get(key, 0) + 1
        send = self._sender(tenant, user_id, calc_id, kind)
        if refused:
            send("failed", 0, f"You already have {self.max_per_user} calculations running; wait for one to finish.")
            return
        threading.Thread(target=self._drive, args=(key, send, kind, params), name=f"calc-{calc_id}",
                         daemon=True).start()

    def _sender(self, tenant: str, user_id, calc_id: str, kind: str):
        topic = user_topic(tenant, user_id, "calculations")

        def send(status: str, progress: int, message: str, result=None, field=None) -> None:
            update = protocol.calculation_update(calc_id, kind, status, progress, message, result, field)
            coalesce = f"calc:{calc_id}" if status == "processing" else None    # progress: only the latest matters
            self.hub.publish(topic, [Message("calculation_update", coalesce, protocol.encode(update))])
            if status in ("completed", "failed"):
                done = status == "completed"
                notify_user(self.hub, tenant, user_id, "success" if done else "error",
                            "Calculation finished" if done else "Calculation failed", f"{kind} {calc_id}: {message}")
        return send

    def _drive(self, key: tuple, send, kind: str, params: dict) -> None:
        progress = _Progress()
        try:
            send("started", 0, f"{kind} calculation started")
            future = self._executor().submit(finance.calculate, kind, params, progress)
            shown = -1
            while not future.done():
                time.sleep(PROGRESS_INTERVAL)
                if progress.total and progress.done != shown and not future.done():
                    shown = progress.done
                    pct = min(99, int(100 * progress.done / progress.total))
                    send("processing", pct, f"{progress.done:,} of {progress.total:,} scenarios")
            result = future.result()
            self.completed += 1
            send("completed", 100, "done", result=result)
        except finance.FinanceError as exc:
            self.failed += 1
            send("failed", 0, exc.message, field=exc.field)
        except Exception as exc:             # a bug or a dead pool must still end the job visibly
            self.failed += 1
            log.exception("calculation failed")
            send("failed", 0, f"The calculation failed: {type(exc).__name__}.")
        finally:
            with self._lock:
                self._running[key] -= 1

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)
