"""Built-in event source: weekly-sales-like retail events with seasonality, holidays and anomalies.

The generator is deterministic for a seed (same seed -> same stores, values and anomalies), which
is what tests and benchmarks need; only the timestamps follow the clock. Simulated time runs fast
(one "week" passes each time every store/department has reported about once) so that seasonality
and holiday uplift are visible on a live dashboard within minutes.
"""
from __future__ import annotations

import logging
import math
import random
import time
import uuid
from datetime import datetime, timezone
from typing import Callable

from services.background import BackgroundThread
from services.timestamps import format_timestamp

log = logging.getLogger(__name__)

HOLIDAY_WEEKS = frozenset({6, 36, 47, 52})  # Super Bowl, Labor Day, Thanksgiving, Christmas
HOLIDAY_UPLIFT = 1.25


class RetailSimulator:
    """Produces raw retail events (the same shape a REST producer would post)."""

    def __init__(self, seed: int | None = 7, stores: int = 10, depts: int = 8, anomaly_rate: float = 0.03,
                 tenant: str = "default", unique_ids: bool = False):
        if not 0 <= anomaly_rate <= 1:
            raise ValueError("anomaly_rate must be between 0 and 1")
        self.rng = random.Random(seed)
        # Event ids follow the seed unless `unique_ids`: then a restarted or second simulator with
        # the same seed (same stores and values) does not repeat ids that de-duplication would drop.
        self._ids = random.Random() if unique_ids else self.rng
        self.anomaly_rate = anomaly_rate
        self.tenant = tenant
        self.entities = [(s, d) for s in range(1, stores + 1) for d in range(1, depts + 1)]
        self.base_sales = {e: self.rng.lognormvariate(math.log(15000), 0.6) for e in self.entities}
        self.store_climate = {s: (self.rng.uniform(40, 75), self.rng.uniform(10, 25)) for s in range(1, stores + 1)}
        self.store_economy = {
            s: (self.rng.uniform(2.8, 4.2), self.rng.uniform(130, 225), self.rng.uniform(4, 12))
            for s in range(1, stores + 1)
        }
        self.emitted = 0

    def week(self) -> int:
        """Simulated week of the year, 1..52."""
        return int(self.emitted / len(self.entities)) % 52 + 1

    def next_labeled(self, now: datetime | None = None) -> tuple[dict, str | None]:
        """One event and the anomaly injected into it ("spike", "drop") or None."""
        rng = self.rng
        store, dept = rng.choice(self.entities)
        week = self.week()
        season = 1 + 0.15 * math.sin(2 * math.pi * (week - 10) / 52)
        holiday = week in HOLIDAY_WEEKS
        sales = self.base_sales[(store, dept)] * season * (HOLIDAY_UPLIFT if holiday else 1.0)
        sales *= rng.gauss(1.0, 0.05)
        label = None
        if rng.random() < self.anomaly_rate:
            label = rng.choice(("spike", "drop"))
            sales *= rng.uniform(3.0, 5.0) if label == "spike" else rng.uniform(0.05, 0.25)
        temp_mean, temp_amp = self.store_climate[store]
        temperature = temp_mean + temp_amp * math.sin(2 * math.pi * (week - 16) / 52) + rng.gauss(0, 3)
        fuel, cpi, unemployment = self.store_economy[store]
        self.emitted += 1
        event = {
            "event_id": str(uuid.UUID(int=self._ids.getrandbits(128), version=4)),
            "timestamp": format_timestamp(now or datetime.now(timezone.utc)),
            "tenant": self.tenant,
            "store": store,
            "dept": dept,
            "weekly_sales": round(sales, 2),
            "temperature": round(temperature, 1),
            "is_holiday": int(holiday),
            "fuel_price": round(fuel + rng.gauss(0, 0.02), 3),
            "cpi": round(cpi, 3),
            "unemployment": round(unemployment, 2),
        }
        return event, label

    def next_event(self, now: datetime | None = None) -> dict:
        return self.next_labeled(now)[0]

    def history(self, count: int) -> list[dict]:
        """`count` events of recent history, used to warm the models up before live data arrives."""
        return [self.next_event() for _ in range(count)]


class SimulatorSource(BackgroundThread):
    """Feeds a simulator into a sink at `rate` events per second from its own thread."""

    thread_name = "simulator"

    def __init__(self, simulator: RetailSimulator, sink: Callable[[list[dict]], object], rate: float):
        self.simulator = simulator
        self.sink = sink
        self.rate = rate
        self.lost = 0
        self._init_thread()

    def start(self) -> None:
        if self.rate > 0:
            super().start()

    def _run(self) -> None:
        # Emit in ticks of up to 20 per second so high rates do not mean one wake-up per event.
        # The rate is read on every tick: an admin's change (services.simulation.fleet) applies at once.
        # What is owed is measured on the clock, not assumed from the tick: generating and delivering a
        # tick's events takes time too, and a rate paced by nominal ticks fell short by that much
        # (2,900 of SIM_RATE=5000 events/s). At most a second is made up after a stall.
        owed, last = 0.0, time.monotonic()
        while not self._stop.wait(max(1.0 / self.rate, 0.05)):
            now = time.monotonic()
            owed = min(owed + self.rate * (now - last), self.rate + 1)
            last = now
            count, owed = int(owed), owed - int(owed)
            if count:
                events = [self.simulator.next_event() for _ in range(count)]
                try:
                    self.sink(events)
                except Exception as exc:   # e.g. Redis away: a simulator's events may be lost, its thread not
                    self.lost += len(events)
                    if self.lost == len(events) or self.lost % 1000 < len(events):
                        log.warning("simulator could not deliver %d events (%s); %d lost so far",
                                    len(events), exc, self.lost)
