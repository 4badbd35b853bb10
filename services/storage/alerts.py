"""Alerts for HIGH and CRITICAL risk events (retail and sensor): what they say, and where they are kept.

An alert carries a short human "why" built from the values that made the event unusual, so an
analyst does not have to reverse-engineer a risk score. Alerts are written to SQLite before they
are published, so a restart or a browser that connects late loses none; writing is idempotent by
(tenant, event_id), so a redelivered event never raises a second alert.

Alerts have a small workflow: `open` -> `acknowledged` -> `resolved`, or `open` -> `resolved`
directly (the acknowledged fields then stay empty). Repeating an acknowledge or a resolve changes
nothing (the first person and time are kept), so a double click or two analysts acting at once are
harmless; acknowledging a resolved alert is refused (`AlertConflict`): it is closed.
"""
from __future__ import annotations

from sqlalchemy import select, update

from services.storage.bulk import BulkInsert
from services.storage.db import Database
from services.storage.schema import alerts as table
from services.timestamps import now_iso

ALERT_LEVELS = ("HIGH", "CRITICAL")
ALERT_STATUSES = ("open", "acknowledged", "resolved")
MAX_ALERT_ID = 2**63 - 1       # a 64-bit id: a larger one cannot exist (and would not bind)
COLUMNS = ("event_id", "profile", "priority", "timestamp", "store", "dept", "asset_id", "sensor_id", "sensor_type",
           "risk_score", "message", "why")
ROWS_PER_STATEMENT = 2000      # 14 parameters a row: well inside SQLite's and PostgreSQL's limits


class AlertConflict(ValueError):
    """The alert exists but cannot make this transition (acknowledging a resolved alert)."""


class AlertStore:
    def __init__(self, db: Database):
        self.db = db
        # one statement per ROWS_PER_STATEMENT alerts, compiled once (an alert storm is thousands a second)
        self._insert = BulkInsert(db, db.insert(table).on_conflict_do_nothing(index_elements=["tenant", "event_id"])
                                  .returning(table.c.id, table.c.event_id), ("tenant", *COLUMNS))

    def save(self, tenant: str, alerts: list[dict], include_existing: bool = False) -> list[dict]:
        """Store alerts (dicts without id); return those newly stored, with their ids, in order.

        With `include_existing`, alerts already stored for the same events come back too (as
        stored): a worker re-processing reclaimed events must re-publish what the dead worker
        stored but may never have sent. Clients de-duplicate by id.
        """
        stored: dict[int, dict] = {}
        with self.db.connect() as conn:
            for first in range(0, len(alerts), ROWS_PER_STATEMENT):
                chunk = alerts[first:first + ROWS_PER_STATEMENT]
                rows = [(tenant, a["event_id"], a.get("profile") or "retail", *(a.get(c) for c in COLUMNS[2:]))
                        for a in chunk]
                new_ids = {event_id: alert_id for alert_id, event_id in self._insert(conn, rows)}
                missing = []
                for offset, a in enumerate(chunk):
                    new_id = new_ids.pop(a["event_id"], None)   # a repeated event id: stored once, by its first
                    if new_id is not None:
                        stored[first + offset] = dict(a, id=new_id)
                    elif include_existing:
                        missing.append(first + offset)
                if missing:
                    found = {r["event_id"]: dict(r) for r in conn.execute(select(table).where(
                        table.c.tenant == tenant,
                        table.c.event_id.in_([alerts[i]["event_id"] for i in missing]))).mappings()}
                    stored.update((i, found[alerts[i]["event_id"]]) for i in missing if alerts[i]["event_id"] in found)
        return [stored[i] for i in sorted(stored)]

    def recent(self, tenant: str, limit: int = 20, status: str | None = None,
               priority: str | None = None, entities: dict | None = None) -> list[dict]:
        """The newest alerts, newest first (optionally only those with this status and/or priority,
        and of these entities: {"store": [..], "dept": [..], "asset_id": [..], "sensor_id": [..]})."""
        query = select(table).where(table.c.tenant == tenant, *_filters(status, priority), *_entities(entities))
        return [dict(r) for r in self.db.query(query.order_by(table.c.id.desc()).limit(limit))]

    def after(self, tenant: str, after_id: int, limit: int = 500, status: str | None = None,
              priority: str | None = None, entities: dict | None = None) -> list[dict]:
        """Alerts with id > after_id, oldest first (what a reconnecting client missed)."""
        query = select(table).where(table.c.tenant == tenant, table.c.id > after_id, *_filters(status, priority),
                                    *_entities(entities))
        return [dict(r) for r in self.db.query(query.order_by(table.c.id).limit(limit))]

    def acknowledge(self, tenant: str, alert_id: int, username: str) -> dict | None:
        """Mark an open alert acknowledged by `username` now. None when the tenant has no such alert;
        an already acknowledged one comes back unchanged; a resolved one raises AlertConflict."""
        return self._transition(tenant, alert_id, table.c.status == "open", refused_from="resolved",
                                status="acknowledged", acknowledged_by=username, acknowledged_at=now_iso())

    def resolve(self, tenant: str, alert_id: int, username: str) -> dict | None:
        """Mark an alert resolved by `username` now (from open or acknowledged). None when the tenant
        has no such alert; an already resolved one comes back unchanged."""
        return self._transition(tenant, alert_id, table.c.status != "resolved", status="resolved",
                                resolved_by=username, resolved_at=now_iso())

    def _transition(self, tenant: str, alert_id: int, condition, refused_from: str | None = None,
                    **values) -> dict | None:
        """One conditional UPDATE then a read, in one transaction: two web workers acting on the
        same alert at once cannot both win, and the answer is the row as committed."""
        if not 0 < alert_id <= MAX_ALERT_ID:
            return None
        with self.db.connect() as conn:
            mine = (table.c.tenant == tenant, table.c.id == alert_id)
            conn.execute(update(table).where(*mine, condition).values(**values))
            row = conn.execute(select(table).where(*mine)).mappings().first()
        if row is None:
            return None
        if row["status"] == refused_from:
            raise AlertConflict(f"alert {alert_id} is {refused_from}; it cannot be acknowledged any more")
        return dict(row)


def _filters(status: str | None, priority: str | None) -> list:
    """Conditions for the optional filters; unknown values are refused, never matched as nothing."""
    conditions = []
    if status is not None:
        if status not in ALERT_STATUSES:
            raise ValueError(f"status must be one of {', '.join(ALERT_STATUSES)}")
        conditions.append(table.c.status == status)
    if priority is not None:
        if priority not in ALERT_LEVELS:
            raise ValueError(f"priority must be one of {', '.join(ALERT_LEVELS)}")
        conditions.append(table.c.priority == priority)
    return conditions


def _entities(entities: dict | None) -> list:
    """Conditions selecting the alerts of some stores/depts or assets/sensors (empty lists: all)."""
    columns = {"store": table.c.store, "dept": table.c.dept, "asset_id": table.c.asset_id, "sensor_id": table.c.sensor_id}
    return [columns[name].in_(sorted(values)) for name, values in (entities or {}).items() if values]
