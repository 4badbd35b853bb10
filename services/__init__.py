"""Pulseboard's pure-Python core: no Dash anywhere, Flask only in `services.web`.

Sub-packages by responsibility, lowest layer first (a package imports only those before it,
never one after it; docs/ARCHITECTURE.md draws the map):

    config, background, redis_keys, timestamps   top-level basics every layer may use
    scoring     models, baselines, sensor banks, KPIs, health, model sync, alert explanations
    analysis    offline CSV analysis          finance     NPV/IRR/ROI, Monte Carlo
    storage     the database and its stores (alerts, calculation records, upload records)
    security    users, API keys, WebSocket tickets, rate limits
    ingest      event schema, in-process queue, Redis stream producer/consumer, pub/sub bridge
    realtime    hub (memory/Redis), outbox, protocol, notifications, connections, calculate jobs
    tenants     tenant settings, audit log, the admin service
    pipeline    batch scoring, the embedded driver, the stream worker, publisher, live state
    simulation  retail and sensor simulators, the fleet, market feed, replay, senders
    cluster     leader lease, process reports, system stats
    runtime     wiring: one backend (embedded or Redis) per process, the worker node
    web         Flask: auth, headers, monitoring, the JSON API blueprints, the /ws endpoint
"""
