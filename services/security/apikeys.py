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
from dataclasses import dataclass
from datetime import datetime, timezone

from services.security.passwords import secret_digest
from services.storage.db import Database


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
    def __init__(self, db: Database):
        self.db = db

    def create(self, name: str, tenant: str = "default") -> tuple[ApiKey, str]:
        name = (name or "").strip()
        if not name or len(name) > 64:
            raise ValueError("the key name must be 1-64 characters")
        prefix, secret = secrets.token_hex(4), secrets.token_urlsafe(24)
        key = f"pb_{prefix}_{secret}"
        created = datetime.now(timezone.utc).isoformat()
        with self.db.connect() as conn:
            cur = conn.execute("INSERT INTO api_keys (name, prefix, key_hash, tenant, created_at) VALUES (?,?,?,?,?)",
                               (name, prefix, secret_digest(key), tenant, created))
        return ApiKey(cur.lastrowid, name, prefix, tenant, created, False), key

    def verify(self, key: str | None) -> ApiKey | None:
        """The active key record for this key, or None."""
        parts = (key or "").split("_", 2)
        if len(parts) != 3 or parts[0] != "pb":
            return None
        rows = self.db.query("SELECT * FROM api_keys WHERE prefix = ?", (parts[1],))
        if not rows or rows[0]["revoked"] or not hmac.compare_digest(rows[0]["key_hash"], secret_digest(key)):
            return None
        return _record(rows[0])

    def active(self, prefix: str) -> ApiKey | None:
        """The key with this prefix if it exists and is not revoked (a ticket's key, re-checked while its
        socket is open)."""
        rows = self.db.query("SELECT * FROM api_keys WHERE prefix = ? AND revoked = 0", (prefix,))
        return _record(rows[0]) if rows else None

    def list(self, tenant: str | None = None) -> list[ApiKey]:
        rows = (self.db.query("SELECT * FROM api_keys ORDER BY id") if tenant is None
                else self.db.query("SELECT * FROM api_keys WHERE tenant = ? ORDER BY id", (tenant,)))
        return [_record(r) for r in rows]

    def revoke(self, prefix: str, tenant: str | None = None) -> bool:
        """Revoke by prefix (only within `tenant` when given); False if there is no such key."""
        with self.db.connect() as conn:
            if tenant is None:
                return conn.execute("UPDATE api_keys SET revoked = 1 WHERE prefix = ?", (prefix,)).rowcount > 0
            return conn.execute("UPDATE api_keys SET revoked = 1 WHERE prefix = ? AND tenant = ?",
                                (prefix, tenant)).rowcount > 0


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
    store = ApiKeyStore(Database(Config.from_env().data_dir / "pulseboard.db"))
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
