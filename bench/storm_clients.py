"""The clients of bench/restart_storm.py: asyncio sockets that behave as the Live page's does
(assets/js/pulse_socket.js), so that a restart meets the reconnect wave browsers would make.

Per socket, as the page:
- on open: `attempts` back to 0, subscribe to iot/alerts/kpis/health; on `subscribed`, ask for a
  snapshot; 3 s after the open with no snapshot yet, ask again (and again every 3 s);
- on close or a failed connect: `attempts` + 1, wait min(10 s, 0.5 s x 2^(attempts-1)) x (0.5 + random())
  and connect again; from `OFFLINE_AFTER` failures in a row, poll the REST snapshot (/api/live-data)
  at once and every 5 s until the socket is open again.
Each socket keeps a log of (time, what, detail): `open`, `closed` (close code), `refused` (HTTP
status or error), `snapshot` (a snapshot frame received), `poll` (HTTP status). Batch frames are only
counted. The process reports its own CPU time, like bench/fanout_clients.py.
"""
from __future__ import annotations

import asyncio
import json
import random
import time
from urllib.parse import urlsplit

from fanout_clients import ACTIVE_CHANNELS, CONNECT_TIMEOUT, _why, browser_deflate  # noqa: E402

OFFLINE_AFTER, POLL_SECONDS, SNAPSHOT_RETRY_SECONDS = 4, 5.0, 3.0   # LiveSocket's offline_after, poll_ms, snapshot_retry_ms


def backoff(attempts: int) -> float:
    """pulse_socket.js scheduleReconnect: exponential from 0.5 s, capped at 10 s, +/- 50 % jitter."""
    return min(10.0, 0.5 * 2 ** (attempts - 1)) * (0.5 + random.random())


async def http_status(base: str, path: str, cookie: str) -> int | str:
    """GET `path` with the session cookie; the status code, or why there was none (a refused connection)."""
    parts = urlsplit(base)
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(parts.hostname, parts.port), 10)
    except (OSError, asyncio.TimeoutError) as exc:
        return type(exc).__name__
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nCookie: {cookie}\r\n"
                     f"Accept: application/json\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), 30)
        return int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else "no status line"
    except (OSError, asyncio.TimeoutError, ValueError, IndexError) as exc:
        return type(exc).__name__
    finally:
        writer.close()


class PageSocket:
    """One Live page's socket, reconnecting as the page does until `stop` is set."""

    def __init__(self, url: str, origin: str, cookie: str, deflate: bool, gate: asyncio.Semaphore,
                 stop: asyncio.Event):
        self.url, self.origin, self.cookie, self.deflate, self.gate, self.stop = url, origin, cookie, deflate, gate, stop
        self.log: list[tuple[float, str, object]] = []
        self.frames = 0
        self.attempts = 0
        self.opened = asyncio.Event()
        self.opens = 0
        self._poller: asyncio.Task | None = None

    def note(self, what: str, detail=None) -> None:
        self.log.append((time.time(), what, detail))

    async def run(self) -> None:
        while not self.stop.is_set():
            await self._session()
            if self.stop.is_set():
                break
            self.attempts += 1
            if self.attempts >= OFFLINE_AFTER and self._poller is None:
                self._poller = asyncio.ensure_future(self._poll())
            try:
                await asyncio.wait_for(self.stop.wait(), backoff(self.attempts))
            except asyncio.TimeoutError:
                pass
        self._stop_polling()

    async def _session(self) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed
        try:
            async with self.gate:
                ws = await connect(self.url, origin=self.origin, additional_headers={"Cookie": self.cookie},
                                   proxy=None, compression=None,
                                   extensions=browser_deflate() if self.deflate else None,
                                   open_timeout=CONNECT_TIMEOUT, ping_interval=None, close_timeout=5,
                                   max_size=None, user_agent_header=None)
        except Exception as exc:       # noqa: BLE001 - refused, reset, or an HTTP answer: logged
            response = getattr(exc, "response", None)
            self.note("refused", getattr(response, "status_code", None) or _why(exc))
            return
        self.attempts = 0
        self._stop_polling()
        self.note("open")
        self.opens += 1
        self.opened.set()
        got_snapshot = asyncio.Event()
        watch = asyncio.ensure_future(self._watch_snapshot(ws, got_snapshot))
        stopper = asyncio.ensure_future(self.stop.wait())
        reader = asyncio.ensure_future(self._read(ws, got_snapshot))
        try:
            await ws.send(json.dumps({"type": "subscribe", "channels": ACTIVE_CHANNELS, "id": "sub"}))
            await asyncio.wait([reader, stopper], return_when=asyncio.FIRST_COMPLETED)
        except ConnectionClosed:
            pass
        finally:
            for task in (watch, stopper, reader):
                task.cancel()
            if self.stop.is_set():
                await ws.close()
            self.note("closed", ws.close_code)

    async def _read(self, ws, got_snapshot: asyncio.Event) -> None:
        from websockets.exceptions import ConnectionClosed
        try:
            while True:
                raw = await ws.recv(decode=False)
                if raw.startswith(b'{"type":"batch"'):
                    self.frames += 1
                elif raw.startswith(b'{"type":"snapshot"'):
                    self.note("snapshot")
                    got_snapshot.set()
                elif raw.startswith(b'{"type":"subscribed"'):
                    await ws.send(json.dumps({"type": "snapshot", "id": "snap"}))
        except ConnectionClosed:
            return

    async def _watch_snapshot(self, ws, got_snapshot: asyncio.Event) -> None:
        while True:
            try:
                await asyncio.wait_for(got_snapshot.wait(), SNAPSHOT_RETRY_SECONDS)
                return
            except asyncio.TimeoutError:
                await ws.send(json.dumps({"type": "snapshot", "id": "snap-again"}))
                self.note("asked_again")

    async def _poll(self) -> None:
        while True:
            self.note("poll", await http_status(self.origin, "/api/live-data", self.cookie))
            await asyncio.sleep(POLL_SECONDS)

    def _stop_polling(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            self._poller = None


async def _main(index: int, cookies: list[str], url: str, origin: str, deflate: bool, stop_flag, status,
                reopened) -> dict:
    gate = asyncio.Semaphore(8)
    stop = asyncio.Event()
    sockets = [PageSocket(url, origin, cookie, deflate, gate, stop) for cookie in cookies]
    cpu: list[tuple[float, float]] = []
    tasks = [asyncio.ensure_future(s.run()) for s in sockets]

    async def first_open() -> None:
        await asyncio.wait([asyncio.ensure_future(s.opened.wait()) for s in sockets], timeout=120 + len(sockets) * 0.1)
        status.put(("connected", index, sum(s.opened.is_set() for s in sockets)))

    opener = asyncio.ensure_future(first_open())
    while not stop_flag.is_set():
        cpu.append((time.time(), time.process_time()))
        reopened[index] = sum(s.opens > 1 for s in sockets)     # back after the restart
        await asyncio.sleep(0.5)
    cpu.append((time.time(), time.process_time()))
    stop.set()
    opener.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {"index": index, "cpu": cpu, "sockets": [{"log": s.log, "frames": s.frames} for s in sockets]}


def client_process(index: int, cookies: list[str], url: str, origin: str, deflate: bool, stop_flag, status,
                   reopened, results) -> None:
    """Entry point of one client process (multiprocessing, spawn). `reopened[index]`: how many of its
    sockets opened more than once, i.e. are back after the restart."""
    results.put(asyncio.run(_main(index, cookies, url, origin, deflate, stop_flag, status, reopened)))
