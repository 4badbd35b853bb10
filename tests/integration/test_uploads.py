"""Uploads over real HTTP: streamed in, private per user and tenant, listed, deleted, nothing half-kept
(uploads are rows of the database: services/storage/uploads.py)."""
import gzip

import pytest
import requests

from helpers import LiveServer
from services.storage.db import Database
from services.security.users import UserStore

RETAIL = "Store,Dept,Date,Weekly_Sales\n" + "".join(f"{s},1,2010-0{m}-05,{100 * s + m}\n"
                                                      for s in (1, 2, 3) for m in range(1, 10))


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("uploads"), SIMULATOR="off", MAX_UPLOAD_MB=0.05).start()
    users = UserStore(Database(server.data_dir / "pulseboard.db"))
    users.create("ann", "ann-password", role="analyst")
    users.create("tom", "tom-password", role="admin", tenant="acme")
    yield server
    server.stop()


def upload(server, session, data: bytes, name="sales.csv"):
    return session.post(server.url + "/api/v1/uploads", params={"name": name}, data=data,
                        headers={"Content-Type": "text/csv"})


def files_on_disk(server):
    """What is kept: upload rows, chunk rows, and any file left in DATA_DIR (work files, uploads)."""
    db = Database(server.data_dir / "pulseboard.db", migrate=False)
    try:
        rows = db.query("SELECT (SELECT count(*) FROM uploads) AS uploads, "
                        "(SELECT count(*) FROM upload_chunks) AS chunks")
    finally:
        db.dispose()
    files = [p.name for folder in ("uploads", "upload-work")
             for p in (server.data_dir / folder).rglob("*") if p.is_file()]
    return dict(rows[0]), sorted(files)


def test_raw_body_upload_is_stored_listed_and_deleted(srv):
    s = srv.session()
    r = upload(srv, s, RETAIL.encode(), name="../../etc/passwd sales.csv")
    assert r.status_code == 201, r.text
    record = r.json()
    assert record["rows"] == 27 and record["profile"] == "retail" and "/" not in record["name"]
    listed = s.get(srv.url + "/api/v1/uploads").json()["uploads"]
    assert [u["id"] for u in listed][0] == record["id"]
    assert s.delete(srv.url + f"/api/v1/uploads/{record['id']}").status_code == 204
    assert record["id"] not in [u["id"] for u in s.get(srv.url + "/api/v1/uploads").json()["uploads"]]
    assert s.delete(srv.url + f"/api/v1/uploads/{record['id']}").status_code == 404


def test_multipart_upload_works_too(srv):
    s = srv.session()
    r = s.post(srv.url + "/api/v1/uploads", files={"file": ("m.csv", RETAIL.encode(), "text/csv")})
    assert r.status_code == 201 and r.json()["name"] == "m.csv"


def test_uploads_are_private_to_their_owner(srv):
    admin, ann = srv.session(), srv.session("ann", "ann-password")
    record = upload(srv, admin, RETAIL.encode()).json()
    assert record["id"] not in [u["id"] for u in ann.get(srv.url + "/api/v1/uploads").json()["uploads"]]
    assert ann.delete(srv.url + f"/api/v1/uploads/{record['id']}").status_code == 404
    tom = srv.session("tom", "tom-password")                  # an admin, of another tenant
    assert record["id"] not in [u["id"] for u in tom.get(srv.url + "/api/v1/uploads").json()["uploads"]]
    assert tom.delete(srv.url + f"/api/v1/uploads/{record['id']}").status_code == 404
    assert record["id"] in [u["id"] for u in admin.get(srv.url + "/api/v1/uploads").json()["uploads"]]


@pytest.mark.parametrize("data, status, code", [
    (b"", 400, "empty"),
    (gzip.compress(RETAIL.encode()), 415, "compressed"),
    (b"Store,Dept,Date,Weekly_Sales\n1,1,2010-01-05,12\n1,1,2010-01-12\n", 400, "field_count"),
    (RETAIL.encode() * 150, 413, "file_too_large"),
])
def test_bad_uploads_leave_nothing_behind(srv, data, status, code):
    s = srv.session()
    before = files_on_disk(srv)
    r = upload(srv, s, data)
    assert r.status_code == status and r.json()["code"] == code
    assert files_on_disk(srv) == before


def test_anonymous_upload_is_refused(srv):
    assert requests.post(srv.url + "/api/v1/uploads", data=RETAIL).status_code == 401


@pytest.mark.parametrize("bad_id", ["../secret", "x" * 32, "0" * 31])
def test_malformed_ids_are_not_found(srv, bad_id):
    assert srv.session().delete(srv.url + f"/api/v1/uploads/{bad_id}").status_code == 404


def test_cr_only_and_non_finite_uploads_are_kept_with_their_warnings(srv):
    s = srv.session()
    mac = RETAIL.replace("\n", "\r").replace(",101\r", ",inf\r")       # old Mac line ends, one infinite value
    r = upload(srv, s, mac.encode())
    assert r.status_code == 201, r.text
    assert r.json()["rows"] == 27
    assert r.json()["warnings"] == ["1 value was not a finite number in 'Weekly_Sales' (line 2); it was left out."]


def test_contradictory_date_orders_are_refused_with_lines(srv):
    before = files_on_disk(srv)
    data = b"Store;Dept;Date;Weekly_Sales\n1;1;13.01.2024;5\n1;2;01.13.2024;6\n"
    r = upload(srv, srv.session(), data)
    assert r.status_code == 422 and r.json()["code"] == "mixed_date_order" and r.json()["lines"] == [2, 3]
    assert files_on_disk(srv) == before
