"""The load generator of bench/fanout.py: asyncio WebSocket clients (the `websockets` library), one event
loop per process, so that many sockets cost little and the clients' own CPU can be reported.

Each client process gets its share of sockets as (cookie, role) pairs. `active` sockets subscribe to
iot/alerts/kpis/health (a live dashboard) and connect at once; `idle` sockets subscribe to the `system`
channel only (about one small frame a second: an open tab that shows no live data) and connect when
the parent sets `open_idle`. Every socket records, for each `batch` frame, its arrival time and the
latency of the NEWEST point in it: arrival - the point's `received` time (when the pipeline admitted
it) if the message has one, else its `timestamp`. Parsing is cheap on purpose: the frame stays bytes
(no UTF-8 decode, no json.loads); a reverse search finds the last `iot_update`, a forward search its
time field, and parsed seconds are cached (points of one micro-batch share them). The parent cuts the
measured windows out of these records afterwards, so the clients need no clock from it.

The process samples its own CPU time (user + system, every thread) twice a second and sends
everything back on `results` when `stop` is set.
"""
from __future__ import annotations

import asyncio
import calendar
import time
from array import array
from dataclasses import dataclass, field

ACTIVE_CHANNELS = ["iot", "alerts", "kpis", "health"]
IDLE_CHANNELS = ["system"]
BATCH_PREFIX = b'{"type":"batch"'
POINT_TYPE = b'"type":"iot_update"'
CONNECT_CONCURRENCY = 8          # handshakes in flight per client process
CONNECT_TIMEOUT = 30.0


def browser_deflate():
    """permessage-deflate as Chromium and Firefox offer it (`client_max_window_bits`, no limit on the
    server's window), so the server compresses as it would for a browser."""
    from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
    return [ClientPerMessageDeflateFactory(client_max_window_bits=True)]


# -- the one thing parsed per frame -------------------------------------------------------------------

_second_of: dict[bytes, int] = {}


def _epoch(value: bytes) -> float:
    """`2026-11-24T13:03:13.369Z` (or a bare number of seconds) -> seconds since the epoch."""
    if value[:1].isdigit() and b"T" not in value:
        return float(value)
    head = value[:19]
    second = _second_of.get(head)
    if second is None:
        if len(_second_of) > 4096:
            _second_of.clear()
        second = _second_of[head] = calendar.timegm(time.strptime(head.decode(), "%Y-%m-%dT%H:%M:%S"))
    frac = value[19:].rstrip(b"Z")
    return second + (float(frac) if frac.startswith(b".") else 0.0)


def newest_point_time(raw: bytes) -> float | None:
    """Admission time of the last (newest) iot_update in a batch frame, or None if it carries no point."""
    start = raw.rfind(POINT_TYPE)
    if start < 0:
        return None
    end = raw.find(b'{"type":', start)
    end = len(raw) if end < 0 else end
    for name in (b'"received":', b'"timestamp":'):
        at = raw.find(name, start, end)
        if at >= 0:
            at += len(name)
            if raw[at:at + 1] == b'"':
                return _epoch(raw[at + 1:raw.index(b'"', at + 1)])
            stop = min(i for i in (raw.find(b",", at), raw.find(b"}", at), len(raw)) if i >= 0)
            return _epoch(raw[at:stop])
    return None


# -- one socket ------------------------------------------------------------------------------------

@dataclass
class SocketRecord:
    role: str
    connected: bool = False
    failure: str | None = None        # why it never connected
    ended: str | None = None          # why it ended before it was told to stop
    frames: int = 0
    points_frames: int = 0
    bytes: int = 0
    arrivals: array = field(default_factory=lambda: array("d"))
    latencies: array = field(default_factory=lambda: array("d"))   # parallel to arrivals; NaN: no point

    def summary(self) -> dict:
        return {"role": self.role, "connected": self.connected, "failure": self.failure, "ended": self.ended,
                "frames": self.frames, "bytes": self.bytes,
                "arrivals": self.arrivals.tobytes(), "latencies": self.latencies.tobytes()}


def _why(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if response is not None and getattr(response, "status_code", None):
        body = (response.body or b"").decode(errors="replace").strip()[:160]
        return f"HTTP {response.status_code} {body}"
    return f"{type(exc).__name__}: {str(exc)[:160]}"


async def run_socket(record: SocketRecord, url: str, cookie: str, origin: str, deflate: bool,
                     gate: asyncio.Semaphore, stop: asyncio.Event, connected: asyncio.Event | None) -> None:
    import json

    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed
    channels = ACTIVE_CHANNELS if record.role == "active" else IDLE_CHANNELS
    try:
        async with gate:
            ws = await connect(url, origin=origin, additional_headers={"Cookie": cookie}, proxy=None,
                               compression=None, extensions=browser_deflate() if deflate else None,
                               open_timeout=CONNECT_TIMEOUT, ping_interval=None, close_timeout=5,
                               max_size=None, user_agent_header=None)
            welcome = await asyncio.wait_for(ws.recv(decode=False), CONNECT_TIMEOUT)
            if not welcome.startswith(b'{"type":"welcome"'):
                raise RuntimeError(f"expected welcome, got {welcome[:80]!r}")
            await ws.send(json.dumps({"type": "subscribe", "channels": channels}))
    except Exception as exc:       # noqa: BLE001 - refused or broken: counted and named in the report
        record.failure = _why(exc)
        if connected is not None:
            connected.set()
        return
    record.connected = True
    if connected is not None:
        connected.set()
    arrivals, latencies, now, nan = record.arrivals.append, record.latencies.append, time.time, float("nan")
    reader = asyncio.ensure_future(_read(ws, record, arrivals, latencies, now, nan))
    stopper = asyncio.ensure_future(stop.wait())
    await asyncio.wait([reader, stopper], return_when=asyncio.FIRST_COMPLETED)
    if reader.done():
        exc = reader.exception()
        record.ended = (f"closed by the server (code {ws.close_code})"
                        if exc is None or isinstance(exc, ConnectionClosed) else _why(exc))
        stopper.cancel()
    else:
        reader.cancel()
    try:
        await ws.close()
    except Exception:      # noqa: BLE001 - closing a socket that is already gone
        pass


async def _read(ws, record: SocketRecord, arrivals, latencies, now, nan) -> None:
    while True:
        raw = await ws.recv(decode=False)
        arrived = now()
        record.bytes += len(raw)
        if not raw.startswith(BATCH_PREFIX):
            continue
        record.frames += 1
        admitted = newest_point_time(raw)
        arrivals(arrived)
        latencies(arrived - admitted if admitted is not None else nan)


# -- one client process ----------------------------------------------------------------------------

async def _main(index: int, sockets: list[tuple[str, str]], url: str, origin: str, deflate: bool,
                open_idle, stop_flag, status) -> dict:
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    stop = asyncio.Event()
    cpu: list[tuple[float, float]] = []
    records = [SocketRecord(role) for _, role in sockets]

    async def watch() -> None:
        while not stop_flag.is_set():
            cpu.append((time.time(), time.process_time()))
            await asyncio.sleep(0.5)
        cpu.append((time.time(), time.process_time()))
        stop.set()

    async def open_group(role: str) -> list:
        group = [(rec, cookie) for rec, (cookie, r) in zip(records, sockets) if r == role]
        if not group:
            return []
        events = [asyncio.Event() for _ in group]
        tasks = [asyncio.ensure_future(run_socket(rec, url, cookie, origin, deflate, gate, stop, ev))
                 for (rec, cookie), ev in zip(group, events)]
        await asyncio.gather(*(ev.wait() for ev in events))
        status.put(("connected", index, role, sum(r.connected for r, _ in group),
                    sorted({r.failure for r, _ in group if r.failure})[:3]))
        return tasks

    watcher = asyncio.ensure_future(watch())
    tasks = await open_group("active")
    if any(role == "idle" for _, role in sockets):
        while not open_idle.is_set() and not stop.is_set():
            await asyncio.sleep(0.05)
        tasks += await open_group("idle")
    await watcher
    await asyncio.gather(*tasks, return_exceptions=True)
    return {"index": index, "cpu": cpu, "sockets": [r.summary() for r in records]}


def client_process(index: int, sockets: list[tuple[str, str]], url: str, origin: str, deflate: bool,
                   open_idle, stop_flag, status, results) -> None:
    """Entry point of one client process (multiprocessing, spawn)."""
    results.put(asyncio.run(_main(index, sockets, url, origin, deflate, open_idle, stop_flag, status)))


def start_client_processes(plan: list[tuple[str, str]], count: int, http_url: str, deflate: bool, procs: list):
    """Spawn `count` client processes (appended to `procs` at once, so a failure later still stops them),
    the plan's (cookie, role) sockets dealt round-robin; returns their (open_idle, stop, status, results).
    Keep all four while the processes run: a dropped Event's semaphore is gone before a child unpickles it."""
    import multiprocessing as mp
    ctx = mp.get_context("spawn")
    open_idle, stop, status, results = ctx.Event(), ctx.Event(), ctx.Queue(), ctx.Queue()
    ws_url = http_url.replace("http", "ws", 1) + "/ws"
    for k in range(count):
        proc = ctx.Process(target=client_process, args=(k, plan[k::count], ws_url, http_url, deflate, open_idle,
                                                          stop, status, results))
        proc.start()
        procs.append(proc)
    return open_idle, stop, status, results
