"""The models and what they compute: per-entity baselines, IsolationForest and KMeans banks (retail
and per sensor type), risk levels, rolling KPIs, entity health, the human "why" of an alert, and
model sync (one trained version shared through Redis)."""
