"""Health deltas: the vectorised batch fold equals folding the events one by one."""
import numpy as np

from services.scoring.health import ALPHA, EntityHealth, HealthDelta, apply_delta, deltas, public


def fold(delta: HealthDelta, risk: float, anomaly: bool, timestamp: str) -> None:
    """The definition, one event at a time: what the vectorised deltas() must equal."""
    delta.decay *= 1 - ALPHA
    delta.add = delta.add * (1 - ALPHA) + ALPHA * (100 - risk)
    delta.events += 1
    delta.anomalies += int(anomaly)
    delta.last_seen = timestamp


def test_vectorised_deltas_equal_the_sequential_fold():
    rng = np.random.default_rng(1)
    entities = [f"e{rng.integers(0, 7)}" for _ in range(300)]
    identities = [{"name": e} for e in entities]
    risk, anomaly = rng.integers(0, 100, 300), rng.random(300) < 0.1
    stamps = [f"t{i}" for i in range(300)]
    expected: dict[str, HealthDelta] = {}
    for e, ident, r, a, t in zip(entities, identities, risk.tolist(), anomaly.tolist(), stamps):
        fold(expected.setdefault(e, HealthDelta(ident)), r, a, t)
    got = deltas(entities, identities, risk, anomaly, stamps)
    assert set(got) == set(expected)
    for e, want in expected.items():
        d = got[e]
        assert (d.identity, d.events, d.anomalies, d.last_seen) == (want.identity, want.events, want.anomalies,
                                                                    want.last_seen)
        assert abs(d.decay - want.decay) < 1e-12 and abs(d.add - want.add) < 1e-9


def test_health_drops_on_risky_events_and_recovers():
    store = EntityHealth()
    bad = deltas(["a"] * 5, [{"asset_id": "a"}] * 5, np.full(5, 100), np.ones(5, bool), ["t"] * 5)
    low = store.apply("default", bad)[0]
    assert low["health_score"] == round(100 * 0.8 ** 5, 1) and low["anomalies"] == 5
    good = deltas(["a"] * 20, [{"asset_id": "a"}] * 20, np.zeros(20), np.zeros(20, bool), ["t"] * 20)
    assert store.apply("default", good)[0]["health_score"] > 95
    assert public(apply_delta(None, bad["a"]))["asset_id"] == "a"
