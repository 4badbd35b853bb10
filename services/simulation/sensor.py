"""Simulated industrial sensors: pumps and compressors, each with temperature, vibration, pressure and current.

Same contract as the retail simulator (`next_event`, `next_labeled`, `history`), so the simulator
CLI, the embedded source and the tests use either. Deterministic for a seed except for event ids
with `unique_ids`. Each sensor drifts slowly around its own level (a daily cycle, noise); injected
anomalies are spikes (x1.6-3) and drops (x0.1-0.4), and a small share of readings come with
`uncertain` or `bad` quality, as field devices report them.
"""
from __future__ import annotations

import math
import random
import uuid
from datetime import datetime, timezone

from services.timestamps import format_timestamp
from services.simulation.retail import RetailSimulator

# type -> (unit, typical level, relative noise)
SENSOR_TYPES = {
    "temperature": ("°C", 65.0, 0.02),
    "vibration": ("mm/s", 2.5, 0.05),
    "pressure": ("bar", 6.0, 0.02),
    "current": ("A", 12.0, 0.03),
}
ASSET_KINDS = ("pump", "compressor")


class SensorSimulator:
    def __init__(self, seed: int | None = 7, assets: int = 6, anomaly_rate: float = 0.03, tenant: str = "default",
                 unique_ids: bool = False, bad_quality_rate: float = 0.002):
        if not 0 <= anomaly_rate <= 1:
            raise ValueError("anomaly_rate must be between 0 and 1")
        self.rng = random.Random(seed)
        self._ids = random.Random() if unique_ids else self.rng
        self.anomaly_rate = anomaly_rate
        self.bad_quality_rate = bad_quality_rate
        self.tenant = tenant
        self.sensors = []     # (asset_id, sensor_id, type, unit, level)
        for a in range(1, assets + 1):
            asset = f"{ASSET_KINDS[(a - 1) % len(ASSET_KINDS)]}-{a:02d}"
            for kind, (unit, level, _) in SENSOR_TYPES.items():
                self.sensors.append((asset, f"{asset}-{kind[:4]}", kind, unit, level * self.rng.uniform(0.85, 1.15)))
        self.emitted = 0

    def next_labeled(self, now: datetime | None = None) -> tuple[dict, str | None]:
        """One reading and the anomaly injected into it ("spike", "drop") or None."""
        rng = self.rng
        asset, sensor, kind, unit, level = rng.choice(self.sensors)
        noise = SENSOR_TYPES[kind][2]
        cycle = 1 + 0.03 * math.sin(2 * math.pi * (self.emitted / len(self.sensors)) / 96)
        value = level * cycle * rng.gauss(1.0, noise)
        label = None
        if rng.random() < self.anomaly_rate:
            label = rng.choice(("spike", "drop"))
            value *= rng.uniform(1.6, 3.0) if label == "spike" else rng.uniform(0.1, 0.4)
        roll = rng.random()
        quality = "bad" if roll < self.bad_quality_rate else ("uncertain" if roll < 3 * self.bad_quality_rate else "good")
        self.emitted += 1
        event = {
            "event_id": str(uuid.UUID(int=self._ids.getrandbits(128), version=4)),
            "timestamp": format_timestamp(now or datetime.now(timezone.utc)),
            "tenant": self.tenant,
            "asset_id": asset,
            "sensor_id": sensor,
            "sensor_type": kind,
            "value": round(value, 3),
            "unit": unit,
            "quality": quality,
        }
        return event, label

    def next_event(self, now: datetime | None = None) -> dict:
        return self.next_labeled(now)[0]

    def history(self, count: int) -> list[dict]:
        return [self.next_event() for _ in range(count)]


def make_simulator(profile: str, seed: int | None = None, anomaly_rate: float = 0.03, tenant: str = "default",
                   unique_ids: bool = False):
    """A simulator for `profile`: retail, sensor, or mixed (both, alternating)."""
    if profile == "retail":
        return RetailSimulator(seed=seed, anomaly_rate=anomaly_rate, tenant=tenant, unique_ids=unique_ids)
    if profile == "sensor":
        return SensorSimulator(seed=seed, anomaly_rate=anomaly_rate, tenant=tenant, unique_ids=unique_ids)
    if profile == "mixed":
        return MixedSimulator(RetailSimulator(seed=seed, anomaly_rate=anomaly_rate, tenant=tenant, unique_ids=unique_ids),
                              SensorSimulator(seed=seed, anomaly_rate=anomaly_rate, tenant=tenant, unique_ids=unique_ids))
    raise ValueError(f"unknown simulator profile {profile!r}: retail, sensor or mixed")


class MixedSimulator:
    """Retail and sensor events alternately (one tenant streaming both)."""

    def __init__(self, *simulators):
        self.simulators = simulators
        self.emitted = 0

    def next_labeled(self, now: datetime | None = None) -> tuple[dict, str | None]:
        sim = self.simulators[self.emitted % len(self.simulators)]
        self.emitted += 1
        return sim.next_labeled(now)

    def next_event(self, now: datetime | None = None) -> dict:
        return self.next_labeled(now)[0]

    def history(self, count: int) -> list[dict]:
        return [self.next_event() for _ in range(count)]


def generate_sensor_csv(path, assets: int = 6, hours: int = 48, seed: int = 0, anomaly_rate: float = 0.01):
    """A sensor CSV (timestamp, asset_id, sensor_id, sensor_type, value, unit, quality): one reading per
    sensor per hour, `assets` x 4 sensors x `hours` rows, for replay and the Analysis page."""
    import csv
    from datetime import timedelta
    sim = SensorSimulator(seed=seed, assets=assets, anomaly_rate=anomaly_rate)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["timestamp", "asset_id", "sensor_id", "sensor_type", "value", "unit", "quality"])
        for hour in range(hours):
            moment = start + timedelta(hours=hour)
            for asset, sensor, kind, unit, level in sim.sensors:
                value = level * sim.rng.gauss(1.0, SENSOR_TYPES[kind][2])
                if sim.rng.random() < anomaly_rate:
                    value *= sim.rng.choice((sim.rng.uniform(1.6, 3.0), sim.rng.uniform(0.1, 0.4)))
                writer.writerow([format_timestamp(moment), asset, sensor, kind, round(value, 3), unit, "good"])
    return path
