"""The stream's history: every scored event kept with its scores, rolled up per minute and hour,
queried by range and filters, exported as CSV, and trimmed by retention in the background.

- `scopes`: which rollup rows an event adds to, and which a query reads (pure).
- `query`: a history request checked and resolved (range, filters, bucket) from URL parameters (pure).
- `rows`: a scored batch as history rows and rollup deltas (pure).
- `store`: the one interface (`HistoryStore`) and its SQL implementation (SQLite or PostgreSQL).
- `writer`: the background thread the pipeline hands batches to (off the hot path), and retention.
- `export`: the CSV stream.
"""
