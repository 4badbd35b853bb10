"""Uploads kept in the database (record + zlib chunks) on SQLite and PostgreSQL: streamed in and out,
private per user and tenant, a corrupt record skipped, nothing half-kept; uploads of earlier releases
(files in DATA_DIR/uploads) imported with nothing lost and the folder moved aside."""
import io
import json
import logging

import pytest
from sqlalchemy import func, select, text

from services.analysis import AnalysisError, Limits
from services.security.users import UserStore
from services.storage.schema import upload_chunks, uploads
from services.storage.upload_import import import_folder
from services.storage.uploads import CHUNK, UploadNotFound, UploadStore

RETAIL = "Store,Dept,Date,Weekly_Sales\n" + "".join(f"{s},1,2010-0{m}-05,{100 * s + m}\n"
                                                      for s in (1, 2, 3) for m in range(1, 10))


def big_csv(min_bytes: int) -> bytes:
    lines, n = ["Store,Dept,Date,Weekly_Sales\n"], 0
    size = len(lines[0])
    while size < min_bytes:
        line = f"{n % 45 + 1},{n % 97 + 1},2010-{n % 12 + 1:02d}-{n % 28 + 1:02d},{(n * 7919) % 100000 / 100:.2f}\n"
        lines.append(line)
        size += len(line)
        n += 1
    return "".join(lines).encode()


class SlowStream(io.BytesIO):
    """A request body: whatever one read asks for, at most 64 KB comes back."""

    def read(self, size=-1):
        return super().read(min(size, 65536) if size and size > 0 else 65536)


@pytest.fixture
def people(database):
    users = UserStore(database)
    return {name: users.create(name, "password123", tenant=tenant)
            for name, tenant in (("ann", "default"), ("bob", "default"), ("eve", "acme"))}


@pytest.fixture
def store(database, tmp_path):
    return UploadStore(database, Limits(max_bytes=8 * CHUNK), tmp_path / "work")


def chunk_rows(db, upload_id):
    row = db.query(select(func.count().label("n"), func.coalesce(func.sum(func.length(upload_chunks.c.data)), 0)
                          .label("bytes")).where(upload_chunks.c.upload_id == upload_id))[0]
    return row["n"], row["bytes"]


def test_a_multi_chunk_upload_is_kept_compressed_and_read_back_whole(store, people, tmp_path):
    data = big_csv(int(2.5 * CHUNK))
    ann = people["ann"]
    record = store.receive(ann.id, "big.csv", SlowStream(data), tenant="default")
    assert record["size"] == len(data) and record["rows"] > 50_000 and record["profile"] == "retail"
    count, stored_bytes = chunk_rows(store.db, record["id"])
    assert count == 3 and stored_bytes < len(data) / 2          # 1 MB chunks, zlib
    assert store.list(ann.id) == [record] and store.get(ann.id, record["id"]) == record
    fresh = UploadStore(store.db, store.limits, tmp_path / "work")     # another host: no parse cache
    copy = tmp_path / "copy.csv"
    fresh.copy_to(record["id"], 3, copy)
    assert copy.read_bytes() == data
    assert fresh.parsed(ann.id, record["id"]).rows == record["rows"]
    assert list((tmp_path / "work").iterdir()) == []            # work files never stay


def test_uploads_are_listed_newest_first_and_deleted_with_their_chunks(store, people):
    ann = people["ann"]
    first = store.receive(ann.id, "a.csv", io.BytesIO(RETAIL.encode()))
    second = store.receive(ann.id, "b.csv", io.BytesIO(RETAIL.encode()))
    assert [u["id"] for u in store.list(ann.id)] == [second["id"], first["id"]]
    store.delete(ann.id, first["id"])
    assert [u["id"] for u in store.list(ann.id)] == [second["id"]]
    assert chunk_rows(store.db, first["id"])[0] == 0
    with pytest.raises(UploadNotFound):
        store.delete(ann.id, first["id"])


def test_another_users_or_tenants_upload_is_not_found(store, people):
    ann, bob, eve = people["ann"], people["bob"], people["eve"]
    record = store.receive(ann.id, "s.csv", io.BytesIO(RETAIL.encode()))
    row = store.db.query(select(uploads.c.tenant).where(uploads.c.id == record["id"]))[0]
    assert row["tenant"] == "default"                          # the owner's tenant, from the users table
    for call in (lambda: store.get(bob.id, record["id"]), lambda: store.parsed(bob.id, record["id"]),
                 lambda: store.get(eve.id, record["id"], tenant="acme"),
                 lambda: store.get(ann.id, record["id"], tenant="acme"),
                 lambda: store.delete(bob.id, record["id"]), lambda: store.delete(ann.id, record["id"], tenant="acme")):
        with pytest.raises(UploadNotFound):
            call()
    assert store.list(bob.id) == [] and store.list(ann.id, tenant="acme") == []
    assert store.get(ann.id, record["id"], tenant="default") == record


@pytest.mark.parametrize("data, code", [
    (b"", "empty"), (b"Store,Dept,Date,Weekly_Sales\n1,1,2010-01-05,12\n1,1,2010-01-12\n", "field_count"),
    (RETAIL.encode() * 40_000, "file_too_large")])
def test_a_bad_upload_keeps_nothing(store, people, tmp_path, data, code):
    with pytest.raises(AnalysisError) as caught:
        store.receive(people["ann"].id, "bad.csv", io.BytesIO(data))
    assert caught.value.code == code
    assert store.db.query(select(uploads.c.id)) == [] and store.db.query(select(upload_chunks.c.n)) == []
    assert list((tmp_path / "work").iterdir()) == []


@pytest.mark.parametrize("bad_id", ["../secret", "x" * 32, "0" * 31, None])
def test_malformed_ids_are_not_found(store, people, bad_id):
    with pytest.raises(UploadNotFound):
        store.get(people["ann"].id, bad_id)


def test_a_corrupt_record_row_is_skipped_with_a_warning_and_the_rest_listed(store, people, caplog):
    ann = people["ann"]
    bad, good, odd = (store.receive(ann.id, "s.csv", io.BytesIO(RETAIL.encode())) for _ in range(3))
    with store.db.connect() as conn:
        conn.execute(text("UPDATE uploads SET record = :r WHERE id = :id"), [
            {"id": bad["id"], "r": '{"id": "trunc'}, {"id": odd["id"], "r": '["not", "a", "record"]'}])
    with caplog.at_level(logging.WARNING, "services.storage.uploads"):
        assert [u["id"] for u in store.list(ann.id)] == [good["id"]]
    assert bad["id"] in caplog.text and odd["id"] in caplog.text
    with pytest.raises(UploadNotFound):
        store.get(ann.id, bad["id"])
    store.delete(ann.id, bad["id"])                            # and it can be deleted


@pytest.mark.parametrize("damage", ["missing", "garbage"])
def test_missing_or_damaged_chunks_read_as_not_found_with_a_warning(store, people, tmp_path, caplog, damage):
    ann = people["ann"]
    record = store.receive(ann.id, "s.csv", io.BytesIO(RETAIL.encode()))
    with store.db.connect() as conn:
        conn.execute(upload_chunks.delete() if damage == "missing" else upload_chunks.update().values(data=b"junk"))
    fresh = UploadStore(store.db, store.limits, tmp_path / "work")
    with caplog.at_level(logging.WARNING, "services.storage.uploads"), pytest.raises(UploadNotFound):
        fresh.parsed(ann.id, record["id"])
    assert record["id"] in caplog.text and "damaged" in caplog.text
    assert list((tmp_path / "work").iterdir()) == []


def legacy_upload(root, user_id, data: bytes, uploaded_at="2024-01-02T03:04:05+00:00", name="old.csv"):
    import uuid
    upload_id = uuid.uuid4().hex
    folder = root / str(user_id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{upload_id}.csv").write_bytes(data)
    record = {"id": upload_id, "name": name, "size": len(data), "rows": 27, "profile": "retail",
              "mapping": {}, "encoding": "utf-8", "warnings": [], "uploaded_at": uploaded_at}
    (folder / f"{upload_id}.json").write_text(json.dumps(record))
    return record


def test_uploads_of_earlier_releases_are_imported_and_the_folder_moved_aside(store, people, tmp_path, caplog):
    root = tmp_path / "data" / "uploads"
    ann, eve = people["ann"], people["eve"]
    big = big_csv(int(1.5 * CHUNK))
    mine = [legacy_upload(root, ann.id, RETAIL.encode(), "2024-01-01T00:00:00+00:00"),
            legacy_upload(root, ann.id, big, "2024-02-01T00:00:00+00:00")]
    theirs = legacy_upload(root, eve.id, RETAIL.encode())
    corrupt = root / str(ann.id) / ("a" * 32 + ".json")
    corrupt.write_text('{"id": "trunc')
    orphan = legacy_upload(root, ann.id, b"x")
    (root / str(ann.id) / f"{orphan['id']}.csv").unlink()      # a record without its file
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    with caplog.at_level(logging.WARNING, "services.storage.upload_import"):
        stored, left_out = import_folder(store, root)
    assert stored == 3 and sorted(p.name for p in left_out) == sorted([corrupt.name, f"{orphan['id']}.json"])
    moved = tmp_path / "data" / "uploads.imported"
    assert not root.exists() and sorted(p.relative_to(moved) for p in moved.rglob("*")) == before   # nothing lost
    assert "uploads.imported" in caplog.text and corrupt.name in caplog.text
    assert store.list(ann.id) == [mine[1], mine[0]]                 # same ids and records, newest first
    assert store.list(eve.id, tenant="acme") == [theirs]           # the tenant comes from the users table
    copy = tmp_path / "copy.csv"
    store.copy_to(mine[1]["id"], 2, copy)
    assert copy.read_bytes() == big
    assert store.parsed(ann.id, mine[0]["id"]).rows == 27
    assert import_folder(store, root) == (0, [])                   # done once


def test_an_interrupted_import_is_finished_by_the_next_start_without_doubles(store, people, tmp_path):
    root = tmp_path / "data" / "uploads"
    ann = people["ann"]
    records = [legacy_upload(root, ann.id, RETAIL.encode(), f"2024-01-0{i}T00:00:00+00:00") for i in (1, 2)]
    store.store_file(ann.id, None, records[0], root / str(ann.id) / f"{records[0]['id']}.csv")  # the first run
    with store.db.connect() as conn:           # ... was killed while storing the second
        conn.execute(uploads.insert(), {"id": records[1]["id"], "user_id": ann.id, "tenant": "default",
                                        "uploaded_at": "x", "size": 9, "chunks": -1, "stored_at": 0.0, "record": "{}"})
        conn.execute(upload_chunks.insert(), [{"upload_id": records[1]["id"], "n": n, "data": b"z"} for n in (0, 1)])
    assert import_folder(store, root)[0] == 1
    assert store.list(ann.id) == [records[1], records[0]]
    assert chunk_rows(store.db, records[0]["id"])[0] == 1 and chunk_rows(store.db, records[1]["id"])[0] == 1
    assert store.parsed(ann.id, records[1]["id"]).rows == 27
    (tmp_path / "data" / "uploads" / "7").mkdir(parents=True)         # a folder made again later: moved aside too
    import_folder(store, root)
    assert (tmp_path / "data" / "uploads.imported-2").is_dir()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_database_at_revision_0002_gains_the_upload_and_settings_tables_rows_kept(request, tmp_path, backend):
    from services.storage.db import Database
    from services.storage.migrate import current, head, upgrade
    target = tmp_path / "old.db" if backend == "sqlite" else request.getfixturevalue("postgres").new_database()
    old = Database(target, migrate=False)
    upgrade(old, "0002")
    UserStore(old).create("ann", "password123")
    old.dispose()
    db = Database(target)                                      # the next start migrates
    try:
        assert current(db) == head()
        ann = UserStore(db).authenticate("ann", "password123")
        store = UploadStore(db, Limits(), tmp_path / "work")
        record = store.receive(ann.id, "s.csv", io.BytesIO(RETAIL.encode()))
        assert store.list(ann.id) == [record]
    finally:
        db.dispose()


def test_an_upload_being_stored_is_invisible_and_a_failure_keeps_nothing(store, people, monkeypatch, tmp_path):
    import services.storage.uploads as module
    ann, seen = people["ann"], []
    real = module.zlib.compress

    def compress(data, level):                 # look at the tables between chunks, fail at the third
        seen.append(store.db.query(select(uploads.c.chunks)))
        assert store.list(ann.id) == []
        if len(seen) == 3:
            raise OSError("disk gone")
        return real(data, level)
    monkeypatch.setattr(module.zlib, "compress", compress)
    with pytest.raises(OSError):
        store.receive(ann.id, "big.csv", io.BytesIO(big_csv(int(3.5 * CHUNK))))
    assert [[dict(r) for r in rows] for rows in seen] == [[{"chunks": -1}]] * 3
    assert store.db.query(select(uploads.c.id)) == [] and store.db.query(select(upload_chunks.c.n)) == []
    assert list((tmp_path / "work").iterdir()) == []


def test_sweep_removes_what_a_killed_process_left_a_day_later(store, people, tmp_path):
    import time
    ann = people["ann"]
    kept = store.receive(ann.id, "s.csv", io.BytesIO(RETAIL.encode()))
    with store.db.connect() as conn:           # a process killed mid-upload: a pending row, one chunk, a work file
        conn.execute(uploads.insert(), {"id": "b" * 32, "user_id": ann.id, "tenant": "default", "uploaded_at": "x",
                                        "size": 9, "chunks": -1, "stored_at": time.time() - 90_000, "record": "{}"})
        conn.execute(upload_chunks.insert(), {"upload_id": "b" * 32, "n": 0, "data": b"z"})
    work = store.work_file(".part")
    work.write_bytes(b"half")
    fresh = store.work_file(".part")
    fresh.write_bytes(b"in progress")
    import os
    os.utime(work, (time.time() - 90_000,) * 2)
    assert store.sweep() == 1
    assert [r["id"] for r in store.db.query(select(uploads.c.id))] == [kept["id"]]
    assert store.db.query(select(upload_chunks.c.upload_id).where(upload_chunks.c.upload_id == "b" * 32)) == []
    assert not work.exists() and fresh.exists()
    assert store.list(ann.id) == [kept]
