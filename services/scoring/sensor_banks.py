"""Sensor events are scored per sensor type: one ModelBank for each type, made when the type first appears.

A vibration reading and a temperature reading have nothing in common to learn from, so each type
gets its own baselines (per sensor), IsolationForest and KMeans, fitted on that type's readings and,
in distributed mode, shared between workers under the name "sensor:<type>". The number of types
is capped (MAX_TYPES): a producer inventing a new type per event must not create a model and a
trainer thread per event; types past the cap share one bank named "other".
"""
from __future__ import annotations

import threading
from typing import Callable

from services.scoring.models import ModelBank

MAX_TYPES = 32


class SensorBanks:
    def __init__(self, make: Callable[[str], ModelBank], max_types: int = MAX_TYPES):
        self.make = make            # name -> a ModelBank(kind="sensor")
        self.max_types = max_types
        self._banks: dict[str, ModelBank] = {}     # bank name -> bank
        self._route: dict[str, ModelBank] = {}     # sensor type -> bank (bounded)
        self._lock = threading.Lock()
        self.started = False

    def bank(self, sensor_type: str) -> ModelBank:
        bank = self._route.get(sensor_type)
        if bank is not None:
            return bank
        with self._lock:
            name = sensor_type if sensor_type in self._banks or len(self._banks) < self.max_types else "other"
            bank = self._banks.get(name)
            if bank is None:
                bank = self._banks[name] = self.make(name)
                if self.started:
                    bank.start()
            if len(self._route) < 10 * self.max_types:
                self._route[sensor_type] = bank
            return bank

    def all(self) -> dict[str, ModelBank]:
        with self._lock:
            return dict(self._banks)

    def start(self) -> None:
        with self._lock:
            self.started = True
            for bank in self._banks.values():
                bank.start()

    def stop(self) -> None:
        for bank in self.all().values():
            bank.stop()

    def versions(self) -> dict[str, int]:
        return {name: (b.models.version if b.models else 0) for name, b in self.all().items()}
