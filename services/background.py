"""One named daemon thread per service object, started and stopped the same way everywhere."""
from __future__ import annotations

import threading


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
