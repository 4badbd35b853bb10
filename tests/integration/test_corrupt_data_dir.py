"""Corrupt files in DATA_DIR degrade with a clear message, never a 500 or a traceback (docs/ARCHITECTURE.md,
Corrupt state): the secret key, the background-callback cache, upload records and the main database."""
import logging
import os
import subprocess
import sys

import diskcache
import pytest
from sqlalchemy import text

from helpers import ADMIN_PASSWORD, ROOT, free_port
from services.config import Config
from services.storage.db import Database
from services.storage.uploads import UploadNotFound
from services.web.runtime_access import get_runtime

RETAIL = "Store,Dept,Date,Weekly_Sales\n" + "".join(f"{s},1,2010-0{m}-05,{100 * s + m}\n"
                                                      for s in (1, 2) for m in range(1, 10))


def in_process_app(data_dir):
    from app import create_app
    app = create_app(Config(data_dir=data_dir, admin_password=ADMIN_PASSWORD, simulator=False, market_feed=False))
    app.config.update(TESTING=True)
    return app


def signed_in(app):
    client = app.test_client()
    token = client.get("/api/csrf").get_json()["csrf_token"]
    assert client.post("/login", data={"username": "admin", "password": ADMIN_PASSWORD,
                                       "csrf_token": token}).status_code == 302
    client.environ_base["HTTP_X_CSRFTOKEN"] = client.get("/api/csrf").get_json()["csrf_token"]
    return client


@pytest.mark.parametrize("content", [b"", b"\n", b"\xff\xfe\x00\x81 not utf-8"])
def test_an_empty_or_garbage_secret_key_is_replaced_with_a_warning(tmp_path, content, caplog):
    (tmp_path / "secret_key").write_bytes(content)
    with caplog.at_level(logging.WARNING, "services.config"):
        app = in_process_app(tmp_path)
    assert str(tmp_path / "secret_key") in caplog.text and "sign in again" in caplog.text
    key = (tmp_path / "secret_key").read_text()
    assert len(key) == 64 and app.config["SECRET_KEY"] == key
    assert app.test_client().get("/api/csrf").status_code == 200
    signed_in(app)                                    # users can sign in again


def test_a_corrupt_callback_cache_is_recreated(tmp_path, caplog):
    cache = tmp_path / "callback-cache"
    with diskcache.Cache(str(cache)) as c:
        c["job"] = 1
    (cache / "cache.db").write_bytes(b"not a sqlite file " * 100)
    with caplog.at_level(logging.WARNING):
        app = in_process_app(tmp_path)
    assert "callback-cache" in caplog.text
    with diskcache.Cache(str(cache)) as c:            # usable again, by the background jobs too
        c["job"] = 2
        assert c["job"] == 2
    stats = get_runtime(app).backend.system_stats(get_runtime(app))
    assert stats["background_cache"]["kind"] == "diskcache" and "unreadable" not in stats["background_cache"].get("note", "")


def test_a_corrupt_upload_record_is_skipped_and_the_rest_listed(tmp_path, caplog):
    app = in_process_app(tmp_path)
    client = signed_in(app)
    posted = [client.post("/api/v1/uploads?name=s.csv", data=RETAIL.encode(), content_type="text/csv")
              for _ in range(3)]
    assert [r.status_code for r in posted] == [201, 201, 201]
    bad, good, odd = (r.get_json()["id"] for r in posted)
    with get_runtime(app).db.connect() as conn:       # upload records are rows of the database now
        conn.execute(text("UPDATE uploads SET record = :record WHERE id = :id"),
                     [{"id": bad, "record": '{"id": "trunc'}, {"id": odd, "record": '["not", "a", "record"]'}])
    with caplog.at_level(logging.WARNING, "services.storage.uploads"):
        answer = client.get("/api/v1/uploads")
    assert answer.status_code == 200
    assert [u["id"] for u in answer.get_json()["uploads"]] == [good]
    assert bad in caplog.text and odd in caplog.text and "corrupt upload record" in caplog.text
    with pytest.raises(UploadNotFound):              # not found (the API's 404), never a 500
        get_runtime(app).uploads.get(1, bad)
    assert client.delete(f"/api/v1/uploads/{bad}").status_code == 204     # and it can be removed


def run_app(data_dir) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATA_DIR": str(data_dir), "PORT": str(free_port()), "ADMIN_PASSWORD": ADMIN_PASSWORD, "SIMULATOR": "off"}
    return subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def damaged_database(data_dir, how: str):
    path = data_dir / "pulseboard.db"
    if how == "garbage":
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"this is not a database " * 500)
        return path
    db = Database(path)
    with db.connect() as conn:
        conn.execute(text("INSERT INTO users (username, password_hash, role, created_at) VALUES (:name, 'x', 'analyst', 'now')"),
                     [{"name": f"user{i}-" + "x" * 200} for i in range(2000)])
    db.query("PRAGMA wal_checkpoint(TRUNCATE)")
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size // 2)
    return path


@pytest.mark.parametrize("how", ["garbage", "truncated"])
def test_a_damaged_database_stops_the_app_with_one_clear_line(tmp_path, how):
    path = damaged_database(tmp_path, how)
    done = run_app(tmp_path)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr, done.stderr
    assert str(path) in done.stderr and "restore it from a backup" in done.stderr and "move it aside" in done.stderr


def test_healthz_fails_when_the_database_becomes_unreadable(tmp_path):
    app = in_process_app(tmp_path)
    client = app.test_client()
    assert client.get("/healthz").get_json()["status"] == "ok"
    db = get_runtime(app).db
    with db.connect() as conn:
        conn.execute(text("INSERT INTO users (username, password_hash, role, created_at) VALUES (:name, 'x', 'analyst', 'now')"),
                     [{"name": f"user{i}-" + "x" * 200} for i in range(2000)])
    db.query("PRAGMA wal_checkpoint(TRUNCATE)")
    with open(db.path, "r+b") as f:
        f.truncate(db.path.stat().st_size // 2)
    answer = client.get("/healthz")
    assert answer.status_code == 503
    assert answer.get_json()["status"] == "failing" and answer.get_json()["checks"]["database"] == "unavailable"
