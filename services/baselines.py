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

    def _std(self, mean: float, var: float) -> float:
        return max(math.sqrt(var), 0.02 * abs(mean), 1.0)

    def observe(self, keys: list[tuple], sales: np.ndarray, holiday: np.ndarray,
                learn: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Z-scores and expected values of `sales` against each key's baseline, then learn from them
        (only from the values where `learn` is true, when given).

        Returns (z, expected). An entity seen fewer than WARM_COUNT times gets z = 0.
        """
        n = len(keys)
        z = np.zeros(n)
        expected = sales.astype(float).copy()
        with self._lock:
            uplift = self.holiday_uplift
            for i in range(n):
                x = float(sales[i])
                factor = uplift if holiday[i] else 1.0
                stats = self._stats.get(keys[i])
                if stats is None:
                    if learn is None or learn[i]:
                        self._stats[keys[i]] = [1, x / factor, 0.0]
                    continue
                count, mean, var = stats
                std = self._std(mean, var)
                expected[i] = mean * factor
                if count >= WARM_COUNT:
                    z[i] = (x / factor - mean) / std
                if learn is not None and not learn[i]:
                    continue
                if count >= WARM_COUNT:
                    learned = min(max(x / factor, mean - 3 * std), mean + 3 * std)
                    if holiday[i] and mean > 0 and abs(z[i]) < 3:
                        ratio = x / mean
                        self.holiday_uplift += HOLIDAY_ALPHA * (ratio - self.holiday_uplift)
                else:
                    learned = x / factor
                diff = learned - mean
                if count < WARM_COUNT:  # plain running mean/variance until the EWMA has data
                    new_mean = mean + diff / (count + 1)
                    new_var = (count * var + diff * (learned - new_mean)) / (count + 1)
                else:
                    new_mean = mean + ALPHA * diff
                    new_var = (1 - ALPHA) * (var + diff * ALPHA * diff)
                stats[0], stats[1], stats[2] = count + 1, new_mean, new_var
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
