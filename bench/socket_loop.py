"""The socket loop alone (services/web/socket_loop.py): how long one tick takes to write every socket its
frame, with and without a CPU-bound thread beside it, and with the loop's sends keeping the GIL (libc
send) or letting go of it (socket.send).

    .venv/bin/python bench/socket_loop.py                  # 1,000 sockets, 6 s per case
    .venv/bin/python bench/socket_loop.py --sockets 200 --seconds 3

Each socket is one end of a socket pair, registered with the loop as the embedded server does; a thread
reads the other ends. A publisher puts 25 points and a KPI update through an InMemoryHub every 50 ms, so
every tick has a frame for every socket, the same one (encoded once). Prints, per case, the tick time
p50/p90/max and how many ticks ran; exits 1 if fewer than half the expected ticks ran in a case without
the busy thread (the loop is then not what is measured).
"""
from __future__ import annotations

import argparse
import json
import socket
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from wsproto import ConnectionType  # noqa: E402
from wsproto.connection import Connection  # noqa: E402

from services.realtime.frames import FrameCache  # noqa: E402
from services.realtime.hub import InMemoryHub, Message, Subscription  # noqa: E402
from services.realtime.outbox import Outbox  # noqa: E402
from services.web.socket_loop import SocketLoop  # noqa: E402

INTERVAL = 0.1
POINT = json.dumps({"type": "iot_update", "data": {"store": 1, "dept": 2, "weekly_sales": 12345.67, "temperature": 55.1},
                    "analysis": {"anomaly_score": 0.123456, "risk_score": 12, "cluster": 3}})


class Quiet:
    """A connection that only receives frames."""

    def __init__(self, frames: FrameCache):
        self.outbox = Outbox(interval=INTERVAL, max_points=50, frames=frames)

    def message(self, text):
        pass

    def check(self, memo):
        pass

    def closing(self):
        return 1000, "", []

    def released(self):
        pass


def run(sockets: int, seconds: float, busy: bool, keep_gil: bool) -> dict:
    loop = SocketLoop(INTERVAL, None, 1 << 20, 60.0, keep_gil=keep_gil)
    frames, hub, ends, ticks = FrameCache(), InMemoryHub(), [], []
    for _ in range(sockets):
        ours, theirs = socket.socketpair()
        theirs.setblocking(False)
        handler = Quiet(frames)
        hub.subscribe(Subscription(handler.outbox.add), ["t:iot", "t:kpis"])
        loop.adopt(ours, Connection(ConnectionType.SERVER), True, handler)
        ends.append(theirs)
    tick = loop._tick

    def timed(now):
        started = time.perf_counter()
        tick(now)
        ticks.append(time.perf_counter() - started)

    loop._tick = timed
    stop = time.monotonic() + seconds

    def read():
        while time.monotonic() < stop:
            for end in ends:
                try:
                    while end.recv(1 << 16):
                        pass
                except BlockingIOError:
                    pass
            time.sleep(0.01)

    def burn():
        while time.monotonic() < stop:
            pass

    helpers = [threading.Thread(target=read, daemon=True)] + ([threading.Thread(target=burn, daemon=True)] if busy else [])
    for thread in helpers:
        thread.start()
    points = [Message("iot_update", None, POINT)] * 25
    while time.monotonic() < stop:
        hub.publish("t:iot", list(points))
        hub.publish("t:kpis", [Message("kpi_update", "kpis", '{"type":"kpi_update","v":1}')])
        time.sleep(0.05)
    for thread in helpers:
        thread.join()
    for end in ends:
        end.close()
    ticks.sort()
    return {"ticks": len(ticks), "p50_ms": round(ticks[len(ticks) // 2] * 1000, 1),
            "p90_ms": round(ticks[int(len(ticks) * 0.9)] * 1000, 1), "max_ms": round(ticks[-1] * 1000, 1),
            **frames.stats()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=6.0)
    args = parser.parse_args(argv)
    failed = False
    for busy in (False, True):
        for keep_gil in (True, False):
            figures = run(args.sockets, args.seconds, busy, keep_gil)
            print(f"sockets={args.sockets} busy_thread={busy} sends={'libc (GIL kept)' if keep_gil else 'socket.send'}: "
                  + " ".join(f"{k}={v}" for k, v in figures.items()), flush=True)
            if not busy and figures["ticks"] < args.seconds / INTERVAL / 2:
                print(f"FAILED: only {figures['ticks']} ticks in {args.seconds:g} s", flush=True)
                failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
