"""The relational database (SQLite in DATA_DIR, with its migrations) and the stores that return
rows, never wire messages: alerts, calculation records, upload records (files in DATA_DIR)."""
