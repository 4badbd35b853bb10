"""The alert workflow in the store (SQLite and PostgreSQL): transitions, tenants, filters, idempotent saves, migration."""
import sqlite3

import pytest

from services.realtime.protocol import alert_message
from services.storage.alerts import AlertConflict, AlertStore
from services.storage.db import Database


def make_alert(event_id, priority="HIGH", **extra):
    return {"event_id": event_id, "priority": priority, "timestamp": "2026-11-24T13:00:00.000Z", "store": 1,
            "dept": 2, "risk_score": 70 if priority == "HIGH" else 90, "message": f"m {event_id}", "why": "w", **extra}


@pytest.fixture
def store(database):
    return AlertStore(database)


def test_a_micro_batch_is_stored_once_in_order_and_redelivery_stores_nothing(store):
    first = store.save("default", [make_alert("e1"), make_alert("e2", "CRITICAL"), make_alert("e1")])
    assert [a["event_id"] for a in first] == ["e1", "e2"] and first[0]["id"] < first[1]["id"]
    again = store.save("default", [make_alert("e2"), make_alert("e3"), make_alert("e1")])
    assert [a["event_id"] for a in again] == ["e3"] and again[0]["id"] > first[1]["id"]
    replay = store.save("default", [make_alert("e2"), make_alert("e4"), make_alert("e1")], include_existing=True)
    assert [(a["event_id"], a["id"]) for a in replay][::2] == [("e2", first[1]["id"]), ("e1", first[0]["id"])]
    assert replay[1]["event_id"] == "e4" and replay[0]["status"] == "open"
    assert store.save("other", [make_alert("e1")])[0]["id"] > replay[1]["id"]     # another tenant's e1 is its own
    assert store.save("default", []) == []


def test_new_alerts_are_open_with_nobody_recorded(store):
    stored = store.save("default", [make_alert("e1")])
    pushed = alert_message(stored[0])                      # what the pipeline publishes, before any read
    assert pushed["status"] == "open" and pushed["acknowledged_by"] is None and pushed["resolved_at"] is None
    assert alert_message(store.recent("default")[0]) == pushed


def test_acknowledge_then_resolve_records_who_and_when(store):
    [a] = store.save("default", [make_alert("e1")])
    acked = store.acknowledge("default", a["id"], "alice")
    assert acked["status"] == "acknowledged" and acked["acknowledged_by"] == "alice"
    assert acked["acknowledged_at"].endswith("Z") and acked["resolved_by"] is None
    again = store.acknowledge("default", a["id"], "bob")                 # idempotent: the first one is kept
    assert again == acked
    resolved = store.resolve("default", a["id"], "bob")
    assert resolved["status"] == "resolved" and resolved["resolved_by"] == "bob" and resolved["resolved_at"]
    assert resolved["acknowledged_by"] == "alice"
    assert store.resolve("default", a["id"], "carol") == resolved        # idempotent too
    with pytest.raises(AlertConflict):
        store.acknowledge("default", a["id"], "carol")                 # closed: cannot go back


def test_resolving_an_open_alert_leaves_the_acknowledged_fields_empty(store):
    [a] = store.save("default", [make_alert("e1")])
    resolved = store.resolve("default", a["id"], "alice")
    assert resolved["status"] == "resolved" and resolved["acknowledged_by"] is None and resolved["acknowledged_at"] is None


@pytest.mark.parametrize("alert_id", [0, -1, 10**6, 2**63, 10**30])
def test_unknown_ids_are_none(store, alert_id):
    store.save("default", [make_alert("e1")])
    assert store.acknowledge("default", alert_id, "alice") is None
    assert store.resolve("default", alert_id, "alice") is None


def test_another_tenants_alert_looks_missing_and_is_untouched(store):
    [a] = store.save("default", [make_alert("e1")])
    assert store.acknowledge("other", a["id"], "mallory") is None
    assert store.resolve("other", a["id"], "mallory") is None
    assert store.recent("default")[0]["status"] == "open"


def test_filters_by_status_and_priority(store):
    saved = store.save("default", [make_alert("e1"), make_alert("e2", "CRITICAL"), make_alert("e3"),
                                   make_alert("e4", "CRITICAL")])
    store.save("other", [make_alert("e1", "CRITICAL")])
    ids = [a["id"] for a in saved]
    store.acknowledge("default", ids[0], "alice")
    store.resolve("default", ids[1], "alice")
    assert [a["id"] for a in store.recent("default", status="open")] == [ids[3], ids[2]]
    assert [a["id"] for a in store.recent("default", priority="CRITICAL")] == [ids[3], ids[1]]
    assert [a["id"] for a in store.recent("default", status="resolved", priority="CRITICAL")] == [ids[1]]
    assert store.recent("default", status="acknowledged", priority="CRITICAL") == []
    assert [a["id"] for a in store.after("default", ids[0], status="open")] == [ids[2], ids[3]]
    assert [a["id"] for a in store.after("default", 0, priority="HIGH")] == [ids[0], ids[2]]


@pytest.mark.parametrize("filters", [{"status": "closed"}, {"priority": "LOW"}, {"status": "OPEN"}])
def test_unknown_filter_values_are_refused(store, filters):
    with pytest.raises(ValueError):
        store.recent("default", **filters)
    with pytest.raises(ValueError):
        store.after("default", 0, **filters)


def test_a_database_from_before_the_workflow_is_migrated_in_place(tmp_path):
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)        # the alerts table as the sensor-profile version made it
    conn.executescript("""
        CREATE TABLE alerts (id INTEGER PRIMARY KEY AUTOINCREMENT, tenant TEXT NOT NULL, event_id TEXT NOT NULL,
            profile TEXT NOT NULL DEFAULT 'retail', priority TEXT NOT NULL, timestamp TEXT NOT NULL, store INTEGER,
            dept INTEGER, asset_id TEXT, sensor_id TEXT, sensor_type TEXT, risk_score INTEGER NOT NULL,
            message TEXT NOT NULL, why TEXT NOT NULL, UNIQUE (tenant, event_id));
        INSERT INTO alerts (tenant, event_id, priority, timestamp, store, dept, risk_score, message, why)
            VALUES ('default', 'old-1', 'HIGH', '2026-01-01T00:00:00.000Z', 1, 1, 65, 'old', 'because');
    """)
    conn.close()
    store = AlertStore(Database(path))
    [old] = store.recent("default")
    assert old["message"] == "old" and old["status"] == "open" and old["acknowledged_by"] is None
    assert store.acknowledge("default", old["id"], "alice")["status"] == "acknowledged"
    again = AlertStore(Database(path))                                  # opening again changes nothing
    assert again.recent("default")[0]["acknowledged_by"] == "alice"
