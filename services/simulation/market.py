"""The live market-data feed: discount rate, inflation, market growth, technology index, AI adoption.

Embedded mode simulates it: each indicator is a mean-reverting random walk (Ornstein-Uhlenbeck,
x += speed * (mean - x) + volatility * N(0, 1), kept within bounds), one step every MARKET_PERIOD
seconds (default 10). In distributed mode the worker holding the leader lease runs the same feed
and keeps the history in Redis, so exactly one producer publishes. Market data is not per tenant:
every tenant's `market` subscription hears the one global topic.

Each `market_update` carries the values, the values at the open (the first update of the UTC day)
and the change since then; `snapshot()` adds the recent history (MARKET_HISTORY points) so a
reloaded page redraws its sparklines and chart at once.
"""
from __future__ import annotations

import json
import logging
import random
import threading
from collections import deque

import redis

from services.realtime import protocol
from services.background import BackgroundThread
from services.realtime.hub import Hub, Message, topic_for

log = logging.getLogger(__name__)
MARKET_TOPIC = topic_for("any tenant", "market")
MARKET_HISTORY = 360          # 1 hour at the default period
# name -> (long-run mean, reversion per step, volatility per step, lower bound, upper bound)
INDICATORS = {
    "discount_rate": (0.08, 0.05, 0.0015, 0.0, 0.30),
    "inflation_rate": (0.025, 0.05, 0.0008, -0.02, 0.20),
    "market_growth": (0.03, 0.05, 0.0015, -0.10, 0.20),
    "technology_index": (100.0, 0.03, 0.8, 10.0, 1000.0),
    "ai_adoption_rate": (0.35, 0.02, 0.004, 0.0, 1.0),
}


class MarketSimulator:
    def __init__(self, seed: int | None = None):
        self.rng = random.Random(seed)
        self.values = {name: spec[0] for name, spec in INDICATORS.items()}

    def step(self) -> dict[str, float]:
        for name, (mean, speed, vol, low, high) in INDICATORS.items():
            x = self.values[name]
            x += speed * (mean - x) + vol * self.rng.gauss(0.0, 1.0)
            self.values[name] = min(max(x, low), high)
        return {k: round(v, 6) for k, v in self.values.items()}


class MemoryMarketState:
    """Recent market updates in this process (embedded mode)."""

    def __init__(self, history: int = MARKET_HISTORY):
        self._history: deque = deque(maxlen=history)
        self._open: tuple[str, dict] | None = None     # (UTC date, values at the open)
        self._lock = threading.Lock()

    def add(self, timestamp: str, values: dict) -> dict:
        with self._lock:
            day = timestamp[:10]
            if self._open is None or self._open[0] != day:
                self._open = (day, values)
            update = protocol.market_update(timestamp, values, self._open[1])
            self._history.append(update)
            return update

    def snapshot(self) -> dict:
        with self._lock:
            history = list(self._history)
        return {"latest": history[-1] if history else None,
                "history": [{"timestamp": u["timestamp"], **u["values"]} for u in history]}


class RedisMarketState:
    """The same in Redis (`market:history` list, newest first; `market:open` JSON), for every web worker."""

    def __init__(self, client: redis.Redis, prefix: str, history: int = MARKET_HISTORY):
        self.redis, self.history = client, history
        self.history_key, self.open_key = f"{prefix}market:history", f"{prefix}market:open"

    def add(self, timestamp: str, values: dict) -> dict:
        raw = self.redis.get(self.open_key)
        opening = json.loads(raw) if raw else None
        if opening is None or opening["date"] != timestamp[:10]:
            opening = {"date": timestamp[:10], "values": values}
            self.redis.set(self.open_key, json.dumps(opening))
        update = protocol.market_update(timestamp, values, opening["values"])
        pipe = self.redis.pipeline(transaction=True)
        pipe.lpush(self.history_key, json.dumps(update))
        pipe.ltrim(self.history_key, 0, self.history - 1)
        pipe.execute()
        return update

    def snapshot(self) -> dict:
        history = [json.loads(u) for u in reversed(self.redis.lrange(self.history_key, 0, self.history - 1))]
        return {"latest": history[-1] if history else None,
                "history": [{"timestamp": u["timestamp"], **u["values"]} for u in history]}


class MarketFeed(BackgroundThread):
    """One market step every `period` seconds: stored, then published on the global market topic."""

    thread_name = "market-feed"

    def __init__(self, state, hub: Hub, period: float = 10.0, seed: int | None = None):
        self.state, self.hub, self.period = state, hub, period
        self.simulator = MarketSimulator(seed)
        self.errors = 0
        self._init_thread()

    def tick(self) -> dict:
        update = self.state.add(protocol.now_iso(), self.simulator.step())
        self.hub.publish(MARKET_TOPIC, [Message("market_update", "market", protocol.encode(update))])
        return update

    def _run(self) -> None:
        while True:
            try:
                self.tick()
            except Exception as exc:        # Redis away: skip this step, the feed itself carries on
                self.errors += 1
                if self.errors == 1 or self.errors % 60 == 0:
                    log.warning("market step failed (%s); %d so far", exc, self.errors)
            if self._stop.wait(self.period):
                return
