"""Web hosts sharing one database (DATABASE_URL) and nothing else: each host below has its own empty
DATA_DIR, yet they sign with the same SECRET_KEY and every upload is readable from any of them, private
to its owner; uploads an earlier release kept in DATA_DIR/uploads are imported at start."""
import json
import os
import subprocess
import sys
import uuid

import pytest

from helpers import ADMIN_PASSWORD, ROOT, log_in
from services.config import Config
from services.web.runtime_access import get_runtime

RETAIL = "Store,Dept,Date,Weekly_Sales\n" + "".join(f"{s},1,2010-0{m}-05,{100 * s + m}\n"
                                                      for s in (1, 2, 3) for m in range(1, 10))


def host(data_dir, url=None):
    from app import create_app
    app = create_app(Config(data_dir=data_dir, admin_password=ADMIN_PASSWORD, simulator=False, market_feed=False,
                            database_url=url))
    app.config.update(TESTING=True)
    return app


@pytest.fixture
def url(postgres):
    return postgres.new_database()


def test_two_hosts_share_the_key_sessions_and_uploads(url, tmp_path):
    a, b = host(tmp_path / "a", url), host(tmp_path / "b", url)
    assert a.config["SECRET_KEY"] == b.config["SECRET_KEY"]
    assert not (tmp_path / "a" / "secret_key").exists() and not (tmp_path / "b" / "secret_key").exists()
    get_runtime(a).users.create("ann", "ann-password", role="analyst")
    get_runtime(a).users.create("tom", "tom-password", role="analyst", tenant="acme")
    on_a = a.test_client()
    log_in(on_a)
    posted = on_a.post("/api/v1/uploads?name=s.csv", data=RETAIL.encode(), content_type="text/csv")
    assert posted.status_code == 201, posted.get_data(as_text=True)
    upload_id = posted.get_json()["id"]
    on_b = b.test_client()                            # the same admin, signed in on the other host
    log_in(on_b)
    assert [u["id"] for u in on_b.get("/api/v1/uploads").get_json()["uploads"]] == [upload_id]
    assert get_runtime(b).uploads.parsed(1, upload_id).rows == 27       # read back from the database on b
    for name in ("ann", "tom"):                       # another user, another tenant: not found
        other = b.test_client()
        log_in(other, name, f"{name}-password")
        assert other.get("/api/v1/uploads").get_json()["uploads"] == []
        assert other.delete(f"/api/v1/uploads/{upload_id}").status_code == 404
    assert on_b.delete(f"/api/v1/uploads/{upload_id}").status_code == 204
    assert on_a.get("/api/v1/uploads").get_json()["uploads"] == []
    for app in (a, b):
        get_runtime(app).db.dispose()


KEY_OF_A_PROCESS = """
import sys
from services.config import Config
from services.storage.db import Database
from services.storage.secret_key import secret_key
config = Config.from_env()
db = Database.from_config(config)
print(secret_key(config, db))
"""


def test_processes_started_together_with_empty_data_dirs_get_one_key(url, tmp_path):
    procs = [subprocess.Popen([sys.executable, "-c", KEY_OF_A_PROCESS], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "DATABASE_URL": url, "DATA_DIR": str(tmp_path / f"host{i}"),
                                   "PYTHONPATH": str(ROOT)})
             for i in range(4)]
    keys = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert [p.returncode for p in procs] == [0] * 4
    assert len(keys) == 1 and len(keys.pop()) == 64


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_uploads_of_an_earlier_release_are_imported_at_start(request, tmp_path, backend):
    url = request.getfixturevalue("postgres").new_database() if backend == "postgresql" else None
    folder = tmp_path / "uploads" / "1"                # the admin, user 1, is created by the first start
    folder.mkdir(parents=True)
    upload_id = uuid.uuid4().hex
    (folder / f"{upload_id}.csv").write_text(RETAIL)
    record = {"id": upload_id, "name": "old.csv", "size": len(RETAIL), "rows": 27, "profile": "retail",
              "mapping": {}, "encoding": "utf-8", "warnings": [], "uploaded_at": "2024-05-06T07:08:09+00:00"}
    (folder / f"{upload_id}.json").write_text(json.dumps(record))
    app = host(tmp_path, url)
    client = app.test_client()
    log_in(client)
    assert client.get("/api/v1/uploads").get_json()["uploads"] == [record]
    assert get_runtime(app).uploads.parsed(1, upload_id).rows == 27
    assert not (tmp_path / "uploads").exists()
    assert (tmp_path / "uploads.imported" / "1" / f"{upload_id}.csv").read_text() == RETAIL   # kept, moved aside
    get_runtime(app).db.dispose()
