"""SECRET_KEY in distributed mode: with DATABASE_URL it is generated once into the database, so every
process and host (each with its own empty DATA_DIR) gets the same key; an explicit SECRET_KEY wins;
without DATABASE_URL it stays the DATA_DIR file; a corrupt stored key is replaced with a warning."""
import logging
import threading

import pytest
from sqlalchemy import select, update

from services.config import Config
from services.storage.db import Database
from services.storage.schema import settings
from services.storage.secret_key import secret_key, shared_secret_key


def test_the_stored_key_is_created_once_and_read_back_on_both_backends(database):
    key = shared_secret_key(database)
    assert len(key) == 64 and shared_secret_key(database) == key


def test_two_hosts_with_empty_data_dirs_share_one_key(postgres, tmp_path):
    url = postgres.new_database()
    configs = [Config(data_dir=tmp_path / f"host{i}", database_url=url) for i in range(2)]
    handles = [Database(url) for _ in range(8)]
    keys = []
    try:
        threads = [threading.Thread(target=lambda db=db, i=i: keys.append(secret_key(configs[i % 2], db)))
                   for i, db in enumerate(handles)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for db in handles:
            db.dispose()
    assert len(keys) == 8 and len(set(keys)) == 1 and len(keys[0]) == 64
    assert not any((c.data_dir / "secret_key").exists() for c in configs)     # nothing in DATA_DIR


def test_an_explicit_key_wins_and_without_database_url_the_file_is_used(database, tmp_path):
    assert secret_key(Config(data_dir=tmp_path, secret_key="given", database_url="x"), database) == "given"
    key = secret_key(Config(data_dir=tmp_path), database)
    assert (tmp_path / "secret_key").read_text() == key
    assert database.query(select(settings)) == []


@pytest.mark.parametrize("stored", ["", "   ", "bad\x07key"])
def test_a_corrupt_stored_key_is_replaced_once_with_a_warning(database, caplog, stored):
    shared_secret_key(database)
    with database.connect() as conn:
        conn.execute(update(settings).where(settings.c.name == "secret_key").values(value=stored))
    with caplog.at_level(logging.WARNING, "services.storage.secret_key"):
        key = shared_secret_key(database)
    assert "sign in again" in caplog.text and "settings" in caplog.text
    assert len(key) == 64 and key != stored and shared_secret_key(database) == key
