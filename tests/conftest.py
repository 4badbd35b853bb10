"""Shared fixtures, and the kind of every test from its folder.

tests/unit/         pure logic in-process (a temporary SQLite file at most): no server, subprocess, Redis or browser
tests/integration/  a real server subprocess or the in-process Flask app, real HTTP/WebSocket clients, SQLite,
                    command-line tools run as subprocesses; no redis-server and no browser
tests/browser/      drives a headless Chromium through Playwright (its fixtures: browser/conftest.py)
tests/distributed/  starts redis-server, gunicorn and worker processes (redis_server: distributed/conftest.py)

Every test is marked with its folder's name (`unit`, `integration`, `browser`, `distributed`, declared in
pytest.ini), so `-m "not browser"` or `-m distributed` select exactly that. A test that is of two kinds
lives in one folder and carries the other marker itself (the Monte Carlo run on a Celery worker drives
Chromium and starts redis-server: browser/, also marked `distributed`).

Plain helpers (LiveServer, RedisServer, Worker, recv_until, logged_in_page, wait_for, ...) are in
tests/helpers.py: `from helpers import ...`. No test module imports another test module or a conftest.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from helpers import ADMIN_PASSWORD, LiveServer, log_in
from pg_cluster import PostgresCluster, pg_bin

TESTS = Path(__file__).resolve().parent
KINDS = ("unit", "integration", "browser", "distributed")


@pytest.hookimpl(tryfirst=True)      # before `-m` deselects by marker
def pytest_collection_modifyitems(config, items):
    for item in items:
        try:
            kind = Path(item.path).resolve().relative_to(TESTS).parts[0]
        except ValueError:           # not under tests/ (e.g. a file passed by path elsewhere)
            continue
        if kind not in KINDS:
            raise pytest.UsageError(f"{item.nodeid}: a test module belongs in one of tests/{{{','.join(KINDS)}}}/")
        item.add_marker(kind)


# -- the database: SQLite, and PostgreSQL in a throwaway cluster -------------------------------------

@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL cluster for the whole test session (initdb + pg_ctl on a free port)."""
    bin_dir = pg_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) are not installed: tests/run.sh installs Debian's postgresql")
    cluster = PostgresCluster(bin_dir).start()
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    """An empty, migrated Database on each backend: a SQLite file, or a new database in the cluster."""
    from services.storage.db import Database
    target = tmp_path / "db.sqlite" if request.param == "sqlite" else request.getfixturevalue("postgres").new_database()
    db = Database(target)
    yield db
    db.dispose()


# -- a real server in a subprocess ------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = LiveServer(tmp_path_factory.mktemp("server"), SIM_RATE=50).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def admin(server):
    return server.session()


# -- the Flask app in-process (Flask's test client; nothing started: no simulator, pipeline or socket) --

@pytest.fixture
def app(tmp_path):
    """`create_app(Config(...))` on a throwaway DATA_DIR with the simulator off and no thread started:
    for API tests that need neither a running pipeline nor a WebSocket."""
    from app import create_app
    from services.config import Config
    config = Config(data_dir=tmp_path, admin_password=ADMIN_PASSWORD, simulator=False, market_feed=False)
    flask_app = create_app(config)
    flask_app.config.update(TESTING=True)
    yield flask_app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def logged_in_client(client):
    """The test client signed in as the admin (its `csrf` attribute holds the session's CSRF token)."""
    client.csrf = log_in(client)
    return client
