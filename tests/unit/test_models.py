"""Scoring quality and model lifecycle, on simulator data (the models' only inputs are numbers)."""
import time

import numpy as np
import pytest

from services.scoring.baselines import EntityBaselines
from services.ingest.events import validate_event
from services.scoring.models import RISK_LEVELS, ModelBank, combine_risk, risk_level
from services.simulation.retail import RetailSimulator


def labeled(seed, n, anomaly_rate=0.03, sim=None):
    sim = sim or RetailSimulator(seed=seed, anomaly_rate=anomaly_rate)
    pairs = [sim.next_labeled() for _ in range(n)]
    return [validate_event(e) for e, _ in pairs], [label for _, label in pairs]


@pytest.fixture(scope="module")
def scored():
    bank = ModelBank(seed=1)
    sim = RetailSimulator(seed=1)          # history and live stream from the same stores
    history, _ = labeled(1, 1000, sim=sim)
    bank.warm_up(history)
    events, labels = labeled(1, 6000, sim=sim)
    results = [bank.score(events[i:i + 1000]) for i in range(0, len(events), 1000)]
    return bank, labels, {
        "risk": np.concatenate([r.risk_score for r in results]),
        "anomaly": np.concatenate([r.anomaly for r in results]),
        "level": sum((r.risk_level for r in results), []),
        "cluster": sum((r.cluster for r in results), []),
    }


def test_injected_anomalies_are_flagged_and_normal_events_are_not(scored):
    _, labels, s = scored
    injected = np.array([label is not None for label in labels])
    recall = s["anomaly"][injected].mean()
    false_rate = s["anomaly"][~injected].mean()
    assert recall > 0.7, recall
    assert false_rate < 0.02, false_rate


def test_spikes_are_high_risk(scored):
    _, labels, s = scored
    spikes = [lvl for lvl, label in zip(s["level"], labels) if label == "spike"]
    assert sum(lvl in ("HIGH", "CRITICAL") for lvl in spikes) / len(spikes) > 0.9


def test_normal_events_are_mostly_low(scored):
    _, labels, s = scored
    normal = [lvl for lvl, label in zip(s["level"], labels) if label is None]
    assert sum(lvl == "LOW" for lvl in normal) / len(normal) > 0.9


def test_scores_are_in_range_and_clusters_stable(scored):
    bank, _, s = scored
    assert s["risk"].min() >= 0 and s["risk"].max() <= 100
    assert set(s["level"]) <= set(RISK_LEVELS)
    assert set(s["cluster"]) <= {0, 1, 2, 3}
    # cluster numbers are ordered by the centre's sales level: 0 is the lowest-selling segment
    centres = bank.models.kmeans.cluster_centers_[:, 1]
    assert list(np.argsort(bank.models.cluster_order)) == list(np.argsort(centres))


def test_risk_levels_and_combination():
    assert [risk_level(x) for x in (0, 39, 40, 59, 60, 79, 80, 100)] == \
        ["LOW", "LOW", "MEDIUM", "MEDIUM", "HIGH", "HIGH", "CRITICAL", "CRITICAL"]
    # either signal alone can raise risk; both low keeps it low
    assert combine_risk(np.array([0.0]), np.array([0.5]))[0] == 0
    assert combine_risk(np.array([1.0]), np.array([0.0]))[0] == 100
    assert combine_risk(np.array([0.0]), np.array([-20.0]))[0] == 100


def test_scoring_before_any_fit_uses_baselines_only():
    bank = ModelBank()
    events, _ = labeled(3, 50)
    result = bank.score(events)
    assert result.model_version == 0
    assert result.cluster == [None] * 50
    assert bank.models is None


def test_background_refit_swaps_in_a_new_version_without_blocking():
    bank = ModelBank(min_fit_rows=200, refit_every=500, refit_min_seconds=0)
    bank.start()
    try:
        events, _ = labeled(4, 3000)
        for i in range(0, 3000, 250):
            bank.score(events[i:i + 250])
            time.sleep(0.05)
        deadline = time.time() + 20
        while (bank.models is None or bank.models.version < 2) and time.time() < deadline:
            time.sleep(0.05)
        assert bank.models is not None and bank.models.version >= 2
    finally:
        bank.stop()


def test_failed_fit_keeps_previous_models(monkeypatch):
    bank = ModelBank()
    events, _ = labeled(5, 500)
    bank.warm_up(events)
    before = bank.models
    monkeypatch.setattr("services.scoring.models.fit_models", lambda *a, **k: (_ for _ in ()).throw(ValueError("boom")))
    assert bank.fit_now() is False
    assert bank.models is before and bank.fit_errors == 1


def test_baselines_learn_per_entity_and_resist_spikes():
    b = EntityBaselines()
    keys = [("t", 1, 1)] * 60 + [("t", 2, 2)] * 60
    sales = np.array([1000.0 + (i % 3) for i in range(60)] + [50000.0 + (i % 3) * 50 for i in range(60)])
    z, _ = b.observe(keys, sales, np.zeros(120))
    assert np.abs(z).max() < 3
    z, expected = b.observe([("t", 1, 1)], np.array([5000.0]), np.zeros(1))
    assert z[0] > 10 and 900 < expected[0] < 1100
    # one spike must not move the baseline much
    z, expected = b.observe([("t", 1, 1)], np.array([1001.0]), np.zeros(1))
    assert abs(z[0]) < 3 and expected[0] < 1200


def test_fast_isolation_scoring_matches_sklearn(scored):
    from services.scoring.models import IsolationPaths, features
    bank, _, _ = scored
    models = bank.models
    rng = np.random.default_rng(3)
    rows = features(rng.normal(0, 3, 500), rng.lognormal(9, 1, 500), rng.normal(60, 15, 500),
                    rng.integers(0, 2, 500).astype(float))
    assert models.paths is not None
    np.testing.assert_allclose(models.paths.raw_scores(rows), -models.iforest.score_samples(rows), rtol=1e-12)
    assert IsolationPaths.build(object()) is None          # unknown internals: fall back to sklearn


def test_cluster_assignment_matches_kmeans_predict(scored):
    from services.scoring.models import nearest_centre
    kmeans = scored[0].models.kmeans
    rows = np.random.default_rng(5).normal(0, 2, (400, 3))
    assert (nearest_centre(rows, kmeans.cluster_centers_) == kmeans.predict(rows)).all()
