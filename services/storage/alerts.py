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

from services.storage.db import Database
from services.timestamps import now_iso

ALERT_LEVELS = ("HIGH", "CRITICAL")
ALERT_STATUSES = ("open", "acknowledged", "resolved")
MAX_ALERT_ID = 2**63 - 1       # SQLite's INTEGER range: a larger id cannot exist (and would not bind)


class AlertConflict(ValueError):
    """The alert exists but cannot make this transition (acknowledging a resolved alert)."""


class AlertStore:
    def __init__(self, db: Database):
        self.db = db

    def save(self, tenant: str, alerts: list[dict], include_existing: bool = False) -> list[dict]:
        """Store alerts (dicts without id); return those newly stored, with their ids, in order.

        With `include_existing`, alerts already stored for the same events come back too (as
        stored): a worker re-processing reclaimed events must re-publish what the dead worker
        stored but may never have sent. Clients de-duplicate by id.
        """
        stored = []
        with self.db.connect() as conn:
            for a in alerts:
                cur = conn.execute(
                    "INSERT OR IGNORE INTO alerts (tenant, event_id, profile, priority, timestamp, store, dept,"
                    " asset_id, sensor_id, sensor_type, risk_score, message, why) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (tenant, a["event_id"], a.get("profile", "retail"), a["priority"], a["timestamp"], a.get("store"),
                     a.get("dept"), a.get("asset_id"), a.get("sensor_id"), a.get("sensor_type"), a["risk_score"],
                     a["message"], a["why"]))
                if cur.rowcount:
                    stored.append(dict(a, id=cur.lastrowid))
                elif include_existing:
                    row = conn.execute("SELECT * FROM alerts WHERE tenant = ? AND event_id = ?",
                                       (tenant, a["event_id"])).fetchone()
                    stored.append(dict(row))
        return stored

    def recent(self, tenant: str, limit: int = 20, status: str | None = None,
               priority: str | None = None) -> list[dict]:
        """The newest alerts, newest first (optionally only those with this status and/or priority)."""
        where, params = _filters(status, priority)
        rows = self.db.query(f"SELECT * FROM alerts WHERE tenant = ?{where} ORDER BY id DESC LIMIT ?",
                             (tenant, *params, limit))
        return [dict(r) for r in rows]

    def after(self, tenant: str, after_id: int, limit: int = 500, status: str | None = None,
              priority: str | None = None) -> list[dict]:
        """Alerts with id > after_id, oldest first (what a reconnecting client missed)."""
        where, params = _filters(status, priority)
        rows = self.db.query(f"SELECT * FROM alerts WHERE tenant = ? AND id > ?{where} ORDER BY id LIMIT ?",
                             (tenant, after_id, *params, limit))
        return [dict(r) for r in rows]

    def acknowledge(self, tenant: str, alert_id: int, username: str) -> dict | None:
        """Mark an open alert acknowledged by `username` now. None when the tenant has no such alert;
        an already acknowledged one comes back unchanged; a resolved one raises AlertConflict."""
        return self._transition(tenant, alert_id, "UPDATE alerts SET status = 'acknowledged', acknowledged_by = ?,"
                                " acknowledged_at = ? WHERE tenant = ? AND id = ? AND status = 'open'", username,
                                refused_from="resolved")

    def resolve(self, tenant: str, alert_id: int, username: str) -> dict | None:
        """Mark an alert resolved by `username` now (from open or acknowledged). None when the tenant
        has no such alert; an already resolved one comes back unchanged."""
        return self._transition(tenant, alert_id, "UPDATE alerts SET status = 'resolved', resolved_by = ?,"
                                " resolved_at = ? WHERE tenant = ? AND id = ? AND status != 'resolved'", username)

    def _transition(self, tenant: str, alert_id: int, update: str, username: str,
                    refused_from: str | None = None) -> dict | None:
        """One conditional UPDATE then a read, in one transaction: two web workers acting on the
        same alert at once cannot both win, and the answer is the row as committed."""
        if not 0 < alert_id <= MAX_ALERT_ID:
            return None
        with self.db.connect() as conn:
            conn.execute(update, (username, now_iso(), tenant, alert_id))
            row = conn.execute("SELECT * FROM alerts WHERE tenant = ? AND id = ?", (tenant, alert_id)).fetchone()
        if row is None:
            return None
        if row["status"] == refused_from:
            raise AlertConflict(f"alert {alert_id} is {refused_from}; it cannot be acknowledged any more")
        return dict(row)


def _filters(status: str | None, priority: str | None) -> tuple[str, tuple]:
    """SQL conditions for the optional filters; unknown values are refused, never matched as nothing."""
    where, params = "", ()
    if status is not None:
        if status not in ALERT_STATUSES:
            raise ValueError(f"status must be one of {', '.join(ALERT_STATUSES)}")
        where, params = where + " AND status = ?", params + (status,)
    if priority is not None:
        if priority not in ALERT_LEVELS:
            raise ValueError(f"priority must be one of {', '.join(ALERT_LEVELS)}")
        where, params = where + " AND priority = ?", params + (priority,)
    return where, params
