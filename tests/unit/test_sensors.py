"""The sensor profile: schema, per-type scoring, health per asset, sensor_update / alert_triggered, replay, DB migration."""
import json
import sqlite3

import pytest

from services.realtime.protocol import alert_message
from services.storage.alerts import AlertStore
from services.pipeline.batch import BatchProcessor
from services.storage.db import Database
from services.ingest.events import EventError, validate_event
from services.realtime.hub import InMemoryHub, Subscription, topic
from services.ingest.queue import IngestQueue
from services.pipeline.live_state import MemoryLiveState
from services.scoring.models import ModelBank
from services.pipeline.embedded import Pipeline
from services.simulation.sensor import SensorSimulator

READING = {"event_id": "s1", "timestamp": "2026-01-05T10:00:00Z", "asset_id": "pump-01", "sensor_id": "pump-01-vibr",
           "sensor_type": "Vibration", "value": 2.5, "unit": "mm/s", "quality": "GOOD"}


def test_a_sensor_reading_is_normalised():
    e = validate_event(READING)
    assert e["profile"] == "sensor" and e["sensor_type"] == "vibration" and e["quality"] == "good"
    assert validate_event({k: v for k, v in READING.items() if k not in ("unit", "quality")})["quality"] == "good"


@pytest.mark.parametrize("change, field", [
    ({"value": "high"}, "value"), ({"value": float("nan")}, "value"), ({"sensor_id": ""}, "sensor_id"),
    ({"asset_id": 7}, "asset_id"), ({"quality": "excellent"}, "quality"), ({"sensor_type": None}, "sensor_type"),
    ({"unit": "x" * 17}, "unit"),
])
def test_bad_sensor_fields_are_named(change, field):
    with pytest.raises(EventError) as info:
        validate_event(dict(READING, **change))
    assert info.value.field == field


@pytest.fixture
def rig(tmp_path):
    hub = InMemoryHub()
    got: dict = {}
    hub.subscribe(Subscription(lambda t, msgs: got.setdefault(t, []).extend(msgs)),
                  [topic("default", c) for c in ("sensors", "alerts", "health", "iot")])
    processor = BatchProcessor(ModelBank(seed=0))
    state = MemoryLiveState()
    pipeline = Pipeline(IngestQueue(), processor.models, hub, AlertStore(Database(tmp_path / "db.sqlite")), state)
    pipeline.processor = processor
    sim = SensorSimulator(seed=3, anomaly_rate=0.0, bad_quality_rate=0.0)
    processor.warm_up([validate_event(e) for e in sim.history(3000)])
    return sim, pipeline, got


def test_readings_are_scored_per_type_and_spikes_raise_alert_triggered(rig):
    sim, pipeline, got = rig
    assert set(pipeline.processor.sensors.versions()) == {"temperature", "vibration", "pressure", "current"}
    assert all(v >= 1 for v in pipeline.processor.sensors.versions().values())    # one fitted model per type
    events = [sim.next_event() for _ in range(400)]
    spiked = events[::40]
    for e in spiked:
        e["value"] *= 3
    pipeline.process(events)
    pipeline.publish_periodic(force=True)
    alerts = [json.loads(m.json) for m in got["default:alerts"]]
    assert {a["event_id"] for a in spiked} <= {a["event_id"] for a in alerts}
    first = next(a for a in alerts if a["event_id"] == spiked[0]["event_id"])
    assert first["type"] == "alert_triggered" and first["asset_id"] == spiked[0]["asset_id"]
    assert "spike on" in first["message"] and "sigma above" in first["why"]
    readings = got["default:sensors"]
    assert {m.key for m in readings} <= {s[1] for s in sim.sensors} and readings[0].type == "sensor_update"
    health = [json.loads(m.json)["entities"][0] for m in got["default:health"]]
    assert {h["asset_id"] for h in health} == {s[0] for s in sim.sensors}
    assert "default:iot" not in got                          # sensor readings are not retail points
    latest = pipeline.state.readings("default")
    assert len(latest) == 24 and latest[0]["asset_id"] <= latest[-1]["asset_id"]


def test_a_bad_quality_reading_is_medium_not_an_alert_and_not_learned(rig):
    sim, pipeline, got = rig
    reading = dict(sim.next_event(), value=1e6, quality="bad")
    pipeline.process([reading])
    update = json.loads(got["default:sensors"][-1].json)
    assert update["analysis"]["risk_level"] == "MEDIUM" and update["quality"] == "bad"
    assert "default:alerts" not in got
    bank = pipeline.processor.sensors.bank(reading["sensor_type"])
    key = (reading["tenant"], reading["asset_id"], reading["sensor_id"])
    assert bank.baselines.export()["stats"][key][1] < 1e5        # the baseline did not move towards 1e6


def test_sensor_types_past_the_cap_share_one_model():
    from services.scoring.sensor_banks import SensorBanks
    made = []
    banks = SensorBanks(lambda name: made.append(name) or ModelBank(kind="sensor", name=name), max_types=2)
    assert banks.bank("a") is banks.bank("a") and banks.bank("b") is not banks.bank("a")
    assert banks.bank("c") is banks.bank("d") and made == ["a", "b", "other"]


def test_an_old_alerts_table_is_migrated_in_place(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript("""CREATE TABLE alerts (id INTEGER PRIMARY KEY AUTOINCREMENT, tenant TEXT NOT NULL,
        event_id TEXT NOT NULL, priority TEXT NOT NULL, timestamp TEXT NOT NULL, store INTEGER NOT NULL,
        dept INTEGER NOT NULL, risk_score INTEGER NOT NULL, message TEXT NOT NULL, why TEXT NOT NULL,
        UNIQUE (tenant, event_id));
        CREATE INDEX alerts_tenant_id ON alerts (tenant, id);
        INSERT INTO alerts VALUES (7, 'default', 'e7', 'HIGH', '2026-01-01T00:00:00.000Z', 1, 2, 70, 'm', 'w');""")
    conn.commit()
    conn.close()
    store = AlertStore(Database(path))
    assert [alert_message(a) for a in store.recent("default")] == [{"type": "alert", "id": 7, "priority": "HIGH", "timestamp": "2026-01-01T00:00:00.000Z",
                                        "message": "m", "risk_score": 70, "why": "w", "event_id": "e7", "store": 1, "dept": 2,
                                        "status": "open", "acknowledged_by": None, "acknowledged_at": None,
                                        "resolved_by": None, "resolved_at": None}]
    saved = store.save("default", [{"event_id": "s9", "profile": "sensor", "priority": "CRITICAL",
                                    "timestamp": "2026-01-01T00:00:01.000Z", "asset_id": "pump-01",
                                    "sensor_id": "pump-01-temp", "sensor_type": "temperature", "risk_score": 90,
                                    "message": "Temperature spike", "why": "hot"}])
    assert saved[0]["id"] == 8 and alert_message(store.after("default", 7)[0])["type"] == "alert_triggered"
    Database(path)                                               # opening again is a no-op
    assert len(store.recent("default")) == 2
