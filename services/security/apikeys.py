"""API keys for producers (`X-API-Key` on `POST /api/v1/iot`), stored hashed.

A key is `pb_<prefix>_<secret>`: the prefix finds the row, the SHA-256 of the whole key is compared
in constant time. Keys are 190 random bits, so a fast hash is enough (a slow password hash would
only cost every ingest request). The key itself is shown once, when it is created.

    python -m services.security.apikeys create NAME [--tenant T]     # prints the new key once
    python -m services.security.apikeys list
    python -m services.security.apikeys revoke PREFIX
"""
from __future__ import annotations

import argparse
import hmac
import secrets
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import insert, select, update

from services.security.passwords import secret_digest
from services.storage.db import Database, unavailable
from services.storage.schema import api_keys as table


GRACE_SECONDS = 300.0        # how long a verified key still works while the database is unreachable
GRACE_MAX_KEYS = 10_000


@dataclass(frozen=True)
class ApiKey:
    id: int
    name: str
    prefix: str
    tenant: str
    created_at: str
    revoked: bool


def _record(r) -> ApiKey:
    return ApiKey(r["id"], r["name"], r["prefix"], r["tenant"], r["created_at"], bool(r["revoked"]))


class ApiKeyStore:
    def __init__(self, db: Database, grace_seconds: float = GRACE_SECONDS):
        self.db = db
        self.grace_seconds = grace_seconds
        self._verified: dict[str, tuple[float, ApiKey]] = {}    # SHA-256 of a key -> (when verified, record)

    def create(self, name: str, tenant: str = "default") -> tuple[ApiKey, str]:
        name = (name or "").strip()
        if not name or len(name) > 64:
            raise ValueError("the key name must be 1-64 characters")
        prefix, secret = secrets.token_hex(4), secrets.token_urlsafe(24)
        key = f"pb_{prefix}_{secret}"
        created = datetime.now(timezone.utc).isoformat()
        with self.db.connect() as conn:
            key_id = conn.execute(insert(table).values(name=name, prefix=prefix, key_hash=secret_digest(key),
                                                       tenant=tenant, created_at=created)).inserted_primary_key[0]
        return ApiKey(key_id, name, prefix, tenant, created, False), key

    def verify(self, key: str | None) -> ApiKey | None:
        """The active key record for this key, or None.

        With the database unreachable, a key this store verified less than `grace_seconds` ago is
        still taken (producers keep going while PostgreSQL restarts); any other key raises, and the
        request gets 503. While the database answers, every request reads it: a revocation counts at once."""
        parts = (key or "").split("_", 2)
        if len(parts) != 3 or parts[0] != "pb":
            return None
        digest = secret_digest(key)
        try:
            rows = self.db.query(select(table).where(table.c.prefix == parts[1]))
        except Exception as exc:
            verified = self._verified.get(digest)
            if unavailable(exc) and verified is not None and time.monotonic() - verified[0] < self.grace_seconds:
                return verified[1]
            raise
        if not rows or rows[0]["revoked"] or not hmac.compare_digest(rows[0]["key_hash"], digest):
            self._verified.pop(digest, None)
            return None
        record = _record(rows[0])
        if len(self._verified) >= GRACE_MAX_KEYS and digest not in self._verified:
            self._verified.clear()
        self._verified[digest] = (time.monotonic(), record)
        return record

    def active(self, prefix: str) -> ApiKey | None:
        """The key with this prefix if it exists and is not revoked (a ticket's key, re-checked while its
        socket is open)."""
        rows = self.db.query(select(table).where(table.c.prefix == prefix, table.c.revoked == 0))
        return _record(rows[0]) if rows else None

    def list(self, tenant: str | None = None) -> list[ApiKey]:
        query = select(table).order_by(table.c.id)
        return [_record(r) for r in self.db.query(query if tenant is None else query.where(table.c.tenant == tenant))]

    def revoke(self, prefix: str, tenant: str | None = None) -> bool:
        """Revoke by prefix (only within `tenant` when given); False if there is no such key."""
        with self.db.connect() as conn:
            mine = [table.c.prefix == prefix] + ([] if tenant is None else [table.c.tenant == tenant])
            revoked = conn.execute(update(table).where(*mine).values(revoked=1)).rowcount > 0
        if revoked:
            self._verified = {d: v for d, v in self._verified.items() if v[1].prefix != prefix}
        return revoked


def main(argv=None) -> int:
    from services.config import Config
    parser = argparse.ArgumentParser(prog="python -m services.security.apikeys", description="Manage producer API keys.")
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create", help="create a key and print it once")
    create.add_argument("name")
    create.add_argument("--tenant", default="default")
    sub.add_parser("list", help="list keys (prefixes only)")
    revoke = sub.add_parser("revoke", help="revoke a key by its prefix")
    revoke.add_argument("prefix")
    args = parser.parse_args(argv)
    store = ApiKeyStore(Database.from_config(Config.from_env()))
    if args.command == "create":
        record, key = store.create(args.name, args.tenant)
        print(f"Created API key {record.name!r} (prefix {record.prefix}, tenant {record.tenant}).")
        print(f"Key (shown only now): {key}")
    elif args.command == "list":
        for k in store.list():
            print(f"{k.prefix}  {k.name}  tenant={k.tenant}  created={k.created_at}{'  REVOKED' if k.revoked else ''}")
    elif not store.revoke(args.prefix):
        print(f"no key with prefix {args.prefix}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
