"""The audit log: who changed what, and when, in a tenant's administration.

Every admin action (users, API keys, data source, alert thresholds) is written here in the same
transaction-free, append-only way, and admins read it back on the Admin page and from
`GET /api/v1/admin/audit`. Details never hold secrets: a new password or API key is recorded as
"reset" or by its prefix, never by value.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone

from sqlalchemy import insert, select

from services.storage.db import Database
from services.storage.schema import audit_log as table


class AuditLog:
    def __init__(self, db: Database):
        self.db = db

    def record(self, tenant: str, actor: str, action: str, target: str = "", **detail) -> None:
        with self.db.connect() as conn:
            conn.execute(insert(table).values(
                tenant=tenant, at=datetime.now(timezone.utc).isoformat(timespec="seconds"), actor=actor, action=action,
                target=str(target), detail=json.dumps(detail, sort_keys=True, default=str)))

    def recent(self, tenant: str, limit: int = 100) -> list[dict]:
        """The tenant's newest entries, newest first."""
        rows = self.db.query(select(table).where(table.c.tenant == tenant).order_by(table.c.id.desc()).limit(limit))
        return [{"id": r["id"], "at": r["at"], "actor": r["actor"], "action": r["action"], "target": r["target"],
                 "detail": json.loads(r["detail"])} for r in rows]
