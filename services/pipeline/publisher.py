"""Turns what a micro-batch changed into hub messages: one publish per batch and channel, not per event.

Points and alerts go out as each batch is applied; health is collected and sent once a second
(only the entities that changed, one coalescing key per entity); KPIs and system stats are keyed
so a client that is behind only ever gets the latest. Shared by the embedded pipeline and the
Redis worker, so both produce byte-identical messages.
"""
from __future__ import annotations

import threading

from services.realtime import protocol
from services.realtime.hub import Hub, Message, topic
from services.realtime.selection import scope_of
from services.realtime.notifications import AlertDigest


def entity_key(record: dict) -> str:
    return f"asset:{record['asset_id']}" if "asset_id" in record else f"{record['store']}/{record['dept']}"


def publish_alert_update(hub: Hub, tenant: str, alert: dict) -> None:
    """An acknowledged or resolved alert, to every client of the tenant. Unkeyed, like alerts: a
    keyed message would go out ahead of the alerts in the same frame, so an alert raised and
    acknowledged within one frame interval would reach the client in the wrong order."""
    hub.publish(topic(tenant, "alerts"),
                [Message("alert_update", None, protocol.encode(protocol.alert_update(alert)), scope_of(alert))])


class Publisher:
    def __init__(self, hub: Hub):
        self.hub = hub
        self._health: dict[str, dict[str, dict]] = {}   # tenant -> entity -> latest record
        self._lock = threading.Lock()     # the worker's committer thread notes, its main thread flushes
        self.digest = AlertDigest(hub)

    def points(self, tenant: str, encoded: list[str], scopes: list[str]) -> None:
        """Points with their entities' scopes, position for position."""
        if encoded:
            self.hub.publish(topic(tenant, "iot"), [Message("iot_update", None, p, s) for p, s in zip(encoded, scopes)])

    def readings(self, tenant: str, readings: list[tuple[str, str]], scopes: dict[str, str]) -> None:
        """The latest reading per sensor, keyed by sensor id: a client that is behind gets only the newest."""
        if readings:
            self.hub.publish(topic(tenant, "sensors"),
                             [Message("sensor_update", key, r, scopes.get(key)) for key, r in readings])

    def alerts(self, tenant: str, stored: list[dict]) -> None:
        """Alerts that are already stored (they carry their id): `alert` or, for sensors, `alert_triggered`."""
        if stored:
            self.digest.add(tenant, stored)
            messages = [protocol.alert_message(a) for a in stored]
            self.hub.publish(topic(tenant, "alerts"),
                             [Message(m["type"], None, protocol.encode(m), scope_of(m)) for m in messages])

    def note_health(self, tenant: str, records: list[dict]) -> None:
        with self._lock:
            latest = self._health.setdefault(tenant, {})
            for record in records:
                latest[entity_key(record)] = record

    def flush(self) -> None:
        """Once a second: the health of the entities that changed, and the alert digest."""
        self.flush_health()
        self.digest.flush()

    def flush_health(self) -> None:
        with self._lock:
            pending, self._health = self._health, {}
        for tenant, records in pending.items():
            self.hub.publish(topic(tenant, "health"), [
                Message("health_update", entity, protocol.encode(protocol.health_update([record])), scope_of(record))
                for entity, record in records.items()])

    def kpis(self, tenant: str, kpis: dict) -> None:
        self.hub.publish(topic(tenant, "kpis"),
                         [Message("kpi_update", "kpis", protocol.encode(protocol.kpi_update(kpis)))])

    def system(self, tenants, stats: dict) -> None:
        message = Message("system_update", "system", protocol.encode(protocol.system_update(stats)))
        for tenant in tenants or ("default",):
            self.hub.publish(topic(tenant, "system"), [message])
