"""Scored events for the history tests (plain functions, no fixtures): checked events as the pipeline
holds them, `Scores` for them, each event as a plain row (`event_rows`), and the brute-force rollups a
set of rows must add up to.

Values are multiples of 1/4 and few enough that every sum is exact in binary floating point, so
the product's sums can be compared with `==` whatever the order it adds them in.
"""
from __future__ import annotations

import csv
import io
import random
from collections import defaultdict

import numpy as np

from services.history.query import parse
from services.history.rows import event_time, received_time
from services.history.store import iso
from services.history.writer import HistoryWriter
from services.history.scopes import event_scopes
from services.ingest.events import validate_event
from services.scoring.models import Scores

T0 = 1_796_205_600.0        # 2026-12-02T10:00:00Z, a whole hour
DAY = 86400
ALL = {"from": iso(T0 - DAY), "to": iso(T0 + DAY)}      # a range around all of it (whole days)

# What history keeps of an event, as one row in this order: the meaning the product's blocks
# (services.history.blocks) are checked against, event by event.
COLUMNS = ("tenant", "received", "ts", "timestamp", "event_id", "profile", "store", "dept", "asset_id", "sensor_id",
           "sensor_type", "value", "temperature", "is_holiday", "fuel_price", "cpi", "unemployment", "unit",
           "anomaly", "anomaly_score", "risk_score", "risk_level", "cluster", "model_version")


def as_dict(row: tuple, columns: tuple[str, ...] = COLUMNS) -> dict:
    """A row (or, with ROLLUP_COLUMNS, a rollup delta) by column name."""
    return dict(zip(columns, row))


def event_rows(tenant: str, events: list[dict], scores, received: float) -> list[tuple]:
    """One row per event (COLUMNS), written plainly; `scores`: services.scoring.models.Scores of these
    events, position for position."""
    anomaly, anomaly_score = scores.anomaly.tolist(), scores.anomaly_score.tolist()
    risk_score, risk_level, clusters = scores.risk_score.tolist(), scores.risk_level, scores.cluster
    version = int(scores.model_version)
    rows = []
    stamp, ts = None, 0.0
    for i, e in enumerate(events):
        if e["timestamp"] != stamp:
            stamp = e["timestamp"]
            ts = event_time(stamp)
        cluster = clusters[i]
        get = e.get
        if e["profile"] == "sensor":
            store = dept = None
            value = e["value"]
        else:
            store, dept, value = e["store"], e["dept"], e["weekly_sales"]
        rows.append((tenant, received_time(e, received), ts, stamp, e["event_id"],
                     e["profile"], store, dept, get("asset_id"), get("sensor_id"), get("sensor_type"), value,
                     get("temperature"), get("is_holiday"), get("fuel_price"), get("cpi"), get("unemployment"),
                     get("unit") or None, 1 if anomaly[i] else 0, float(anomaly_score[i]), int(risk_score[i]),
                     risk_level[i], None if cluster is None else int(cluster), version))
    return rows


def retail(event_id: str, store: int, dept: int, sales: float, timestamp: str = "2026-12-02T10:00:00Z",
           **extra) -> dict:
    return validate_event({"event_id": event_id, "timestamp": timestamp, "store": store, "dept": dept,
                           "weekly_sales": sales, "temperature": 40.5, "is_holiday": 0, **extra})


def sensor(event_id: str, asset: str, kind: str, sensor_id: str, value: float,
           timestamp: str = "2026-12-02T10:00:00Z", **extra) -> dict:
    return validate_event({"event_id": event_id, "timestamp": timestamp, "asset_id": asset, "sensor_type": kind,
                           "sensor_id": sensor_id, "value": value, "unit": "mm/s", **extra})


def scores(n: int, seed: int = 0, anomaly=None, risk=None, version: int = 3) -> Scores:
    """Scores for `n` events: given anomaly flags and risk scores, or random ones from `seed`."""
    rng = random.Random(seed)
    anomaly = [rng.random() < 0.2 for _ in range(n)] if anomaly is None else anomaly
    risk = [rng.randint(0, 100) for _ in range(n)] if risk is None else risk
    levels = ["CRITICAL" if r >= 80 else "HIGH" if r >= 60 else "MEDIUM" if r >= 40 else "LOW" for r in risk]
    return Scores(np.array(anomaly, dtype=bool), np.array([r / 100 for r in risk]), np.array(risk), levels,
                  [i % 4 if i % 5 else None for i in range(n)], np.zeros(n), np.zeros(n), np.zeros(n), version)


def random_batch(rng: random.Random, n: int, prefix: str = "e") -> list[dict]:
    """A mixed batch: retail events over 3 stores x 4 depts, sensor readings over 2 assets."""
    out = []
    for i in range(n):
        if rng.random() < 0.7:
            out.append(retail(f"{prefix}{i}", rng.randint(1, 3), rng.randint(1, 4), rng.randint(-400, 4000) / 4))
        else:
            asset = f"pump-{rng.randint(1, 2)}"
            kind = rng.choice(["vibration", "temperature"])
            out.append(sensor(f"{prefix}{i}", asset, kind, f"{asset}-{kind}-{rng.randint(1, 2)}",
                              rng.randint(0, 800) / 4))
    return out


def brute_rollups(rows: list[dict]) -> dict:
    """(tenant, scope, bucket, start) -> (count, sum, min, max, anomalies, max_risk), straight from rows."""
    cells = defaultdict(list)
    for r in rows:
        for scope in event_scopes(r):
            for size in (60, 3600):
                cells[(r["tenant"], scope, size, int(r["received"] // size * size))].append(r)
    return {key: (len(rs), sum(r["value"] for r in rs), min(r["value"] for r in rs), max(r["value"] for r in rs),
                  sum(r["anomaly"] for r in rs), max(r["risk_score"] for r in rs)) for key, rs in cells.items()}


def matching(rows: list[dict], tenant: str, start: float, end: float, clock: str = "received", **filters) -> list[dict]:
    """The rows a query selects, by brute force: `filters` maps a row field to the allowed values."""
    field = "received" if clock == "received" else "ts"
    return [r for r in rows if r["tenant"] == tenant and start <= r[field] < end
            and all(r[name] in values for name, values in filters.items() if values)]


def write(store, tenant: str, events: list[dict], received: float, seed: int = 0, **score_args) -> list[dict]:
    """One recorded batch written as the writer thread writes it; its rows, by column name."""
    scored = scores(len(events), seed=seed, **score_args)
    HistoryWriter(store).write([(tenant, events, scored, received)])
    return [as_dict(r) for r in event_rows(tenant, events, scored, received)]


def query(params: dict, now: float = T0 + DAY):
    return parse({**ALL, **params}, now)


def exported_rows(store, tenant: str, q) -> list[list[str]]:
    text = "".join(store.export(tenant, q))
    assert text.endswith("\r\n")                       # CRLF records (a line break in a quoted cell stays)
    return list(csv.reader(io.StringIO(text, newline="")))
