"""What both live benchmarks do with a received WebSocket frame: the latency of every point in it."""
from __future__ import annotations

import json
import socket
from datetime import datetime


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def point_latencies(raw: str, arrived: float, epoch_of: dict) -> list[float] | None:
    """Seconds from each iot_update's timestamp to `arrived`, or None if `raw` is not a batch frame.
    `epoch_of` caches parsed timestamps (points of one micro-batch share one)."""
    if not raw.startswith('{"type":"batch"'):
        return None
    out = []
    for m in json.loads(raw)["messages"]:
        if m["type"] != "iot_update":
            continue
        ts = m["timestamp"]
        sent = epoch_of.get(ts)
        if sent is None:
            sent = epoch_of[ts] = datetime.fromisoformat(ts).timestamp()
            if len(epoch_of) > 10000:
                epoch_of.clear()
        out.append(arrived - sent)
    return out


def measured_frames(url: str, cookie: str, origin: str, stop_at: float):
    """Yield (arrival time, point latencies) for each batch frame of a socket subscribed to
    iot/alerts/kpis, until `stop_at` (wall clock)."""
    import time

    import websocket
    # skip_utf8_validation: websocket-client otherwise checks every byte in pure Python, which
    # would make the measuring clients, not the server, the bottleneck.
    ws = websocket.create_connection(url, cookie=cookie, origin=origin, timeout=10, skip_utf8_validation=True)
    ws.send(json.dumps({"type": "subscribe", "channels": ["iot", "alerts", "kpis"]}))
    epoch_of: dict[str, float] = {}
    ws.settimeout(1)
    try:
        while time.time() < stop_at:
            try:
                raw = ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            arrived = time.time()
            points = point_latencies(raw, arrived, epoch_of)
            if points is not None:
                yield arrived, points
    finally:
        ws.close()
