"""Alerts for HIGH and CRITICAL risk events: what they say, and where they are kept.

An alert carries a short human "why" built from the values that made the event unusual, so an
analyst does not have to reverse-engineer a risk score. Alerts are written to SQLite before they
are published, so a restart or a browser that connects late loses none; writing is idempotent by
(tenant, event_id), so a redelivered event never raises a second alert.
"""
from __future__ import annotations

from services.db import Database

ALERT_LEVELS = ("HIGH", "CRITICAL")
SALES_Z_NOTE = 3.0
TEMP_Z_NOTE = 3.0


def explain(event: dict, sales_z: float, expected: float, temp_z: float, anomaly_score: float) -> tuple[str, str]:
    """(message, why) for an alert on this event."""
    where = f"store {event['store']}, dept {event['dept']}"
    reasons = []
    sales = event["weekly_sales"]
    if abs(sales_z) >= SALES_Z_NOTE and expected:
        ratio = sales / expected
        direction = "above" if sales_z > 0 else "below"
        reasons.append(f"weekly_sales {sales:,.0f} is {ratio:.1f}x the usual {expected:,.0f} "
                       f"({abs(sales_z):.1f} sigma {direction})")
    if abs(temp_z) >= TEMP_Z_NOTE:
        reasons.append(f"temperature {event['temperature']:.1f} is unusual ({temp_z:+.1f} sigma)")
    if anomaly_score >= 0.5:
        reasons.append(f"IsolationForest finds the combination of values unusual (score {anomaly_score:.2f})")
    if not reasons:
        reasons.append("several values are mildly unusual together")
    if sales_z >= SALES_Z_NOTE:
        message = f"Sales spike at {where}"
    elif sales_z <= -SALES_Z_NOTE:
        message = f"Sales drop at {where}"
    else:
        message = f"Unusual activity at {where}"
    if event["is_holiday"]:
        message += " (holiday week)"
    return message, "; ".join(reasons)


def alert_message(alert: dict) -> dict:
    """The `alert` message sent to clients, from a stored alert row or dict."""
    return {"type": "alert", "id": alert["id"], "priority": alert["priority"], "timestamp": alert["timestamp"],
            "store": alert["store"], "dept": alert["dept"], "message": alert["message"],
            "risk_score": alert["risk_score"], "why": alert["why"], "event_id": alert["event_id"]}


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
                    "INSERT OR IGNORE INTO alerts (tenant, event_id, priority, timestamp, store, dept, risk_score,"
                    " message, why) VALUES (?,?,?,?,?,?,?,?,?)",
                    (tenant, a["event_id"], a["priority"], a["timestamp"], a["store"], a["dept"], a["risk_score"],
                     a["message"], a["why"]))
                if cur.rowcount:
                    stored.append(dict(a, id=cur.lastrowid))
                elif include_existing:
                    row = conn.execute("SELECT * FROM alerts WHERE tenant = ? AND event_id = ?",
                                       (tenant, a["event_id"])).fetchone()
                    stored.append(dict(row))
        return stored

    def recent(self, tenant: str, limit: int = 20) -> list[dict]:
        """The newest alerts, newest first."""
        rows = self.db.query("SELECT * FROM alerts WHERE tenant = ? ORDER BY id DESC LIMIT ?", (tenant, limit))
        return [alert_message(r) for r in rows]

    def after(self, tenant: str, after_id: int, limit: int = 500) -> list[dict]:
        """Alerts with id > after_id, oldest first (what a reconnecting client missed)."""
        rows = self.db.query("SELECT * FROM alerts WHERE tenant = ? AND id > ? ORDER BY id LIMIT ?",
                             (tenant, after_id, limit))
        return [alert_message(r) for r in rows]
