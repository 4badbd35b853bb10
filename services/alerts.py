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

from services import protocol
from services.db import Database

ALERT_LEVELS = ("HIGH", "CRITICAL")
ALERT_STATUSES = ("open", "acknowledged", "resolved")
WORKFLOW_FIELDS = ("acknowledged_by", "acknowledged_at", "resolved_by", "resolved_at")
MAX_ALERT_ID = 2**63 - 1       # SQLite's INTEGER range: a larger id cannot exist (and would not bind)
SALES_Z_NOTE = 3.0
TEMP_Z_NOTE = 3.0


def explain(event: dict, sales_z: float, expected: float, temp_z: float, anomaly_score: float) -> tuple[str, str]:
    """(message, why) for an alert on this event."""
    where = f"store {event['store']}, dept {event['dept']}"
    reasons = []
    sales = event["weekly_sales"]
    if abs(sales_z) >= SALES_Z_NOTE and expected:
        reasons.append(_versus_usual("weekly_sales", sales, expected, sales_z, ",.0f"))
    if abs(temp_z) >= TEMP_Z_NOTE:
        reasons.append(f"temperature {event['temperature']:.1f} is unusual ({temp_z:+.1f} sigma)")
    if anomaly_score >= 0.5:
        reasons.append(f"IsolationForest finds the combination of values unusual (score {anomaly_score:.2f})")
    if not reasons:
        reasons.append("several values are mildly unusual together")
    message = _headline(sales_z, f"Sales spike at {where}", f"Sales drop at {where}", f"Unusual activity at {where}")
    if event["is_holiday"]:
        message += " (holiday week)"
    return message, "; ".join(reasons)


def explain_sensor(event: dict, z: float, expected: float, anomaly_score: float) -> tuple[str, str]:
    """(message, why) for an alert on a sensor reading."""
    kind = event["sensor_type"].replace("_", " ")
    unit = f" {event['unit']}" if event.get("unit") else ""
    reasons = []
    if abs(z) >= SALES_Z_NOTE and expected:
        reasons.append(_versus_usual(kind, event["value"], expected, z, ",.2f", unit))
    if anomaly_score >= 0.5:
        reasons.append(f"IsolationForest finds this {kind} reading unusual (score {anomaly_score:.2f})")
    if event.get("quality", "good") != "good":
        reasons.append(f"the sensor reports {event['quality']} quality")
    if not reasons:
        reasons.append("the reading is mildly unusual in several ways")
    where = f"{event['asset_id']} ({event['sensor_id']})"
    message = _headline(z, f"{kind.capitalize()} spike on {where}", f"{kind.capitalize()} drop on {where}",
                        f"Unusual {kind} reading on {where}")
    return message, "; ".join(reasons)


def _versus_usual(label: str, value: float, expected: float, z: float, fmt: str, unit: str = "") -> str:
    direction = "above" if z > 0 else "below"
    return (f"{label} {value:{fmt}}{unit} is {value / expected:.1f}x the usual {expected:{fmt}}{unit} "
            f"({abs(z):.1f} sigma {direction})")


def _headline(z: float, spike: str, drop: str, unusual: str) -> str:
    return spike if z >= SALES_Z_NOTE else (drop if z <= -SALES_Z_NOTE else unusual)


class AlertConflict(ValueError):
    """The alert exists but cannot make this transition (acknowledging a resolved alert)."""


def alert_message(alert: dict) -> dict:
    """The message sent to clients, from a stored alert row or dict: `alert` for a retail event,
    `alert_triggered` (naming the asset and sensor) for a sensor reading. Both carry the workflow
    status and who/when, so every client can draw the same row (a new alert is `open`)."""
    keys = alert.keys()
    common = {"id": alert["id"], "priority": alert["priority"], "timestamp": alert["timestamp"],
              "message": alert["message"], "risk_score": alert["risk_score"], "why": alert["why"],
              "event_id": alert["event_id"], "status": alert["status"] if "status" in keys else "open",
              **{f: alert[f] if f in keys else None for f in WORKFLOW_FIELDS}}
    if "profile" in keys and alert["profile"] == "sensor":
        return {"type": "alert_triggered", **common, "asset_id": alert["asset_id"], "sensor_id": alert["sensor_id"],
                "sensor_type": alert["sensor_type"]}
    return {"type": "alert", **common, "store": alert["store"], "dept": alert["dept"]}


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
        return [alert_message(r) for r in rows]

    def after(self, tenant: str, after_id: int, limit: int = 500, status: str | None = None,
              priority: str | None = None) -> list[dict]:
        """Alerts with id > after_id, oldest first (what a reconnecting client missed)."""
        where, params = _filters(status, priority)
        rows = self.db.query(f"SELECT * FROM alerts WHERE tenant = ? AND id > ?{where} ORDER BY id LIMIT ?",
                             (tenant, after_id, *params, limit))
        return [alert_message(r) for r in rows]

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
            conn.execute(update, (username, protocol.now_iso(), tenant, alert_id))
            row = conn.execute("SELECT * FROM alerts WHERE tenant = ? AND id = ?", (tenant, alert_id)).fetchone()
        if row is None:
            return None
        if row["status"] == refused_from:
            raise AlertConflict(f"alert {alert_id} is {refused_from}; it cannot be acknowledged any more")
        return alert_message(row)


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
