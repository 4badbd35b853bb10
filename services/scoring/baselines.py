"""Per store/department sales baselines: what "usual" means for each entity.

Sales differ by two orders of magnitude between departments, so a raw value says little; what
matters is how far a value is from that entity's own recent level. Each entity keeps an
exponentially weighted mean and variance; values are compared before they are learned from, and
learned from only after clipping to +/-3 sigma so that one spike does not move the baseline.
A global holiday uplift (learned the same way) keeps holiday weeks from looking like spikes.
"""
from __future__ import annotations

import math
import threading

import numpy as np

ALPHA = 0.05           # weight of a new observation: the baseline spans roughly 40 events
WARM_COUNT = 5         # observations before an entity's z-scores are trusted
HOLIDAY_ALPHA = 0.02


class EntityBaselines:
    def __init__(self):
        # key -> [count, mean, var]
        self._stats: dict[tuple, list[float]] = {}
        self.holiday_uplift = 1.0
        self._lock = threading.Lock()

    def observe(self, keys: list[tuple], sales: np.ndarray, holiday: np.ndarray,
                learn: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Z-scores and expected values of `sales` against each key's baseline, then learn from them
        (only from the values where `learn` is true, when given).

        Returns (z, expected). An entity seen fewer than WARM_COUNT times gets z = 0.
        """
        n = len(keys)
        z = np.zeros(n)
        expected = sales.astype(float).copy()
        values, holidays = sales.tolist(), holiday.tolist()       # plain floats: numpy scalars are slow here
        learns = learn.tolist() if learn is not None else None
        table = self._stats
        with self._lock:
            uplift = self.holiday_uplift
            for i in range(n):
                x = values[i]
                factor = uplift if holidays[i] else 1.0
                stats = table.get(keys[i])
                if stats is None:
                    if learns is None or learns[i]:
                        table[keys[i]] = [1, x / factor, 0.0]
                    continue
                count, mean, var = stats
                std = max(math.sqrt(var), 0.02 * abs(mean), 1.0)
                expected[i] = mean * factor
                warm = count >= WARM_COUNT
                if warm:
                    z[i] = zi = (x / factor - mean) / std
                if learns is not None and not learns[i]:
                    continue
                if warm:
                    learned = min(max(x / factor, mean - 3 * std), mean + 3 * std)
                    if holidays[i] and mean > 0 and abs(zi) < 3:
                        uplift += HOLIDAY_ALPHA * (x / mean - uplift)
                    diff = learned - mean
                    stats[0], stats[1], stats[2] = count + 1, mean + ALPHA * diff, (1 - ALPHA) * (var + diff * ALPHA * diff)
                else:                   # plain running mean/variance until the EWMA has data
                    learned = x / factor
                    diff = learned - mean
                    new_mean = mean + diff / (count + 1)
                    stats[0], stats[1], stats[2] = count + 1, new_mean, (count * var + diff * (learned - new_mean)) / (count + 1)
            self.holiday_uplift = uplift
        return z, expected

    def __len__(self) -> int:
        return len(self._stats)

    def export(self) -> dict:
        """A copy of the learned state (shipped with a shared model to workers that start empty)."""
        with self._lock:
            return {"stats": {k: list(v) for k, v in self._stats.items()}, "holiday_uplift": self.holiday_uplift}

    def adopt(self, state: dict) -> None:
        """Start from another worker's learned state (only sensible while this one has none)."""
        with self._lock:
            self._stats = {k: list(v) for k, v in state.get("stats", {}).items()}
            self.holiday_uplift = float(state.get("holiday_uplift", 1.0))
