"""One named daemon thread per service object, started and stopped the same way everywhere; and a few
daemon workers taking calls off one queue."""
from __future__ import annotations

import logging
import queue
import threading

log = logging.getLogger(__name__)


class BackgroundThread:
    """Mixin: `start()` runs `self._run` on a daemon thread; `stop()` sets `self._stop` and joins.

    Subclasses loop on `self._stop` and override `_wake()` if their loop blocks on something else.
    """

    thread_name = "background"

    def _init_thread(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout=timeout)

    def _wake(self) -> None:
        """Interrupt a blocking wait in `_run` (default: nothing to interrupt)."""

    def _run(self) -> None:
        raise NotImplementedError


class Workers:
    """A few daemon threads taking calls off one queue. Not a ThreadPoolExecutor: its threads are
    joined at interpreter exit, and under gunicorn's gevent worker that join hangs the worker's exit
    (the greenlets it waits for no longer run); a daemon worker is simply let go."""

    def __init__(self, count: int, name: str):
        self._calls: queue.SimpleQueue = queue.SimpleQueue()
        for n in range(count):
            threading.Thread(target=self._work, name=f"{name}-{n}", daemon=True).start()

    def submit(self, fn, *args) -> None:
        self._calls.put((fn, args))

    def _work(self) -> None:
        while True:
            fn, args = self._calls.get()
            try:
                fn(*args)
            except Exception:               # noqa: BLE001 - one call's failure ends that call only
                log.exception("worker %s: a call failed", threading.current_thread().name)
