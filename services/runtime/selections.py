"""KPI cards for filtered dashboards: each distinct selection's KPIs, computed once a second, sent to
every socket showing it (services.history.window computes them from the stream's history).

A socket that sets a filter `attach`es here and stops taking the tenant-wide `kpi_update`; it gets
a `kpi_update` carrying `"selection"` instead, keyed like the tenant's so a slow client only ever
gets the newest. Work grows with the number of distinct selections in this process, not sockets.
"""
from __future__ import annotations

import itertools
import logging
import threading
import time
from typing import Callable

from services.background import BackgroundThread
from services.history.store import SqlHistoryStore
from services.history.window import window_kpis
from services.realtime import protocol
from services.realtime.hub import Message
from services.realtime.selection import Selection
from services.storage.db import one_line

log = logging.getLogger(__name__)

REFRESH_SECONDS = 1.0


class SelectionKpis(BackgroundThread):
    thread_name = "selection-kpis"

    def __init__(self, db, window_seconds: float, clock: Callable[[], float] = time.time):
        self.history, self.window_seconds, self.clock = SqlHistoryStore(db), window_seconds, clock
        self._watchers: dict[int, tuple[str, Selection, Callable]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.errors = 0
        self._init_thread()

    def compute(self, tenant: str, selection: Selection) -> dict:
        return window_kpis(self.history, tenant, self.clock(), self.window_seconds, selection.stores, selection.depts,
                           selection.assets, selection.sensors)

    def message(self, tenant: str, selection: Selection) -> Message:
        kpis = self.compute(tenant, selection)
        body = dict(protocol.kpi_update(kpis), selection=selection.as_dict())
        return Message("kpi_update", "kpis", protocol.encode(body))

    def attach(self, tenant: str, selection: Selection, deliver: Callable[[str, list[Message]], None]) -> int:
        """`deliver(topic, messages)` gets this selection's KPIs from now on; returns the handle to detach."""
        with self._lock:
            handle = next(self._ids)
            self._watchers[handle] = (tenant, selection, deliver)
        self.start()
        return handle

    def detach(self, handle: int | None) -> None:
        with self._lock:
            self._watchers.pop(handle, None)

    def refresh(self) -> None:
        with self._lock:
            watchers = list(self._watchers.values())
        groups: dict[tuple, list[Callable]] = {}
        for tenant, selection, deliver in watchers:
            groups.setdefault((tenant, selection), []).append(deliver)
        for (tenant, selection), delivers in groups.items():
            message = self.message(tenant, selection)
            for deliver in delivers:
                deliver(f"{tenant}:kpis", [message])

    def _run(self) -> None:
        while not self._stop.wait(REFRESH_SECONDS):
            try:
                self.refresh()
            except Exception as exc:                   # noqa: BLE001 - the database may be away: next round
                self.errors += 1
                if self.errors == 1 or self.errors % 60 == 0:
                    log.warning("selection KPIs failed (%s); retrying every %.0f s", one_line(exc), REFRESH_SECONDS)
