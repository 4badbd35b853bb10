"""Notifications: short messages for the page's toasts (info, success, warning, error).

Who hears what: a user's own events (their calculation finished or failed, their upload was
analysed or refused) go to that user's topic; tenant-wide events (HIGH/CRITICAL alerts) go to the
tenant's. Alerts can come by the hundred per second, so they are summed up per tenant and sent at
most once a second ("12 new alerts, 3 CRITICAL" with the worst one's message), never one toast each.
"""
from __future__ import annotations

import threading

from services.realtime import protocol
from services.realtime.hub import Hub, Message, topic, user_topic


def notify_user(hub: Hub, tenant: str, user_id, level: str, title: str, message: str) -> None:
    note = protocol.notification(level, title, message)
    hub.publish(user_topic(tenant, user_id, "notifications"), [Message("notification", None, protocol.encode(note))])


class AlertDigest:
    """Counts stored alerts per tenant and turns them into one notification per flush."""

    def __init__(self, hub: Hub):
        self.hub = hub
        self._pending: dict[str, list] = {}     # tenant -> [count, critical, worst alert]
        self._lock = threading.Lock()

    def add(self, tenant: str, alerts: list[dict]) -> None:
        if not alerts:
            return
        with self._lock:
            entry = self._pending.setdefault(tenant, [0, 0, None])
            entry[0] += len(alerts)
            entry[1] += sum(a["priority"] == "CRITICAL" for a in alerts)
            worst = max(alerts, key=lambda a: a["risk_score"])
            if entry[2] is None or worst["risk_score"] > entry[2]["risk_score"]:
                entry[2] = worst

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        for tenant, (count, critical, worst) in pending.items():
            title = f"{count} new alert{'s' if count != 1 else ''}" + (f", {critical} CRITICAL" if critical else "")
            note = protocol.notification("error" if critical else "warning", title, worst["message"],
                                         kind="alerts", count=count, critical=critical)
            self.hub.publish(topic(tenant, "notifications"), [Message("notification", "alerts", protocol.encode(note))])
