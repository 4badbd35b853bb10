"""SECRET_KEY for every process of an installation: never two hosts with different keys.

- `SECRET_KEY` set: used as given, always.
- `DATABASE_URL` set (a database every host shares): generated once into the database, the
  `settings` row `secret_key`, by INSERT ... ON CONFLICT DO NOTHING and read back, so N processes
  starting together on any number of hosts all end with the one key that was inserted first.
- Otherwise (embedded, or REDIS_URL on one host with SQLite in DATA_DIR): the file DATA_DIR/secret_key
  (services.config.load_or_create_secret_key).

A stored key that is empty or not a readable key is replaced (a conditional UPDATE, so concurrent
processes still agree) with a WARNING: sessions signed with the old key end and users sign in again.
"""
from __future__ import annotations

import logging
import secrets

from sqlalchemy import select, update

from services.config import Config, load_or_create_secret_key, usable_key
from services.storage.schema import settings
from services.timestamps import now_iso

log = logging.getLogger(__name__)
NAME = "secret_key"


def secret_key(config: Config, db) -> str:
    """The key this process signs with (see the module's notes for where it comes from)."""
    if config.secret_key:
        return config.secret_key
    if config.database_url:
        return shared_secret_key(db)
    return load_or_create_secret_key(config)


def _stored(db) -> str:
    rows = db.query(select(settings.c.value).where(settings.c.name == NAME))
    return rows[0]["value"]


def shared_secret_key(db) -> str:
    """The installation's key from the database, created by whichever process comes first."""
    with db.connect() as conn:
        conn.execute(db.insert(settings).values(name=NAME, value=secrets.token_hex(32), updated_at=now_iso())
                     .on_conflict_do_nothing(index_elements=["name"]))
    stored = _stored(db)
    key = usable_key(stored.encode("utf-8", "replace"))
    if key:
        return key
    log.warning("the secret key stored in the database (table settings, row %r) is not a readable key: replaced "
                "it with a new one; existing sessions end and users sign in again", NAME)
    with db.connect() as conn:           # only if nobody replaced it meanwhile: every process reads the winner
        conn.execute(update(settings).where(settings.c.name == NAME, settings.c.value == stored)
                     .values(value=secrets.token_hex(32), updated_at=now_iso()))
    return _stored(db)
