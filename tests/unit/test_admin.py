"""Admin rules, tenant settings, the simulator fleet and per-tenant thresholds, on SQLite and PostgreSQL."""
import time

import numpy as np
import pytest

from services.tenants.admin import AdminError, AdminService
from services.security.apikeys import ApiKeyStore
from services.tenants.audit import AuditLog
from services.pipeline.batch import BatchProcessor
from services.ingest.events import validate_event
from services.scoring.models import ModelBank, risk_levels
from services.simulation.fleet import SimulatorFleet
from services.simulation.retail import RetailSimulator
from services.tenants.settings import (DEFAULT_THRESHOLDS, SettingsError, SourceSettings, TenantSettings,
                                      check_source, check_thresholds)
from services.security.tickets import MemoryTickets, RedactTickets
from services.security.users import UserStore


@pytest.fixture
def world(database):
    db = database
    users = UserStore(db)
    ended = []
    settings = TenantSettings(db, SourceSettings(True, 5.0, 0.03), cache_seconds=0)
    admin = AdminService(users, ApiKeyStore(db), settings, AuditLog(db),
                         lambda user_id, reason: ended.append((user_id, reason)), lambda: {"mode": "embedded"})
    boss = users.create("boss", "boss-password", "admin", "t1")
    ann = users.create("ann", "ann-password", "analyst", "t1")
    other = users.create("olga", "olga-password", "admin", "t2")
    return admin, users, settings, ended, boss, ann, other


def test_an_analyst_is_refused_everything_and_nothing_is_written(world):
    admin, users, settings, _, boss, ann, _ = world
    for call in (lambda: admin.list_users(ann), lambda: admin.create_user(ann, "x", "password1", "admin"),
                 lambda: admin.set_role(ann, ann.id, "admin"), lambda: admin.create_key(ann, "k"),
                 lambda: admin.set_thresholds(ann, 1, 2, 3), lambda: admin.set_source(ann, False, 1, 0),
                 lambda: admin.audit_log(ann)):
        with pytest.raises(AdminError) as info:
            call()
        assert info.value.status == 403
    assert users.get(ann.id).role == "analyst" and admin.audit_log(boss) == []
    assert settings.thresholds("t1") == DEFAULT_THRESHOLDS


def test_another_tenants_user_is_not_found_and_self_lockout_is_refused(world):
    admin, users, _, ended, boss, ann, other = world
    with pytest.raises(AdminError) as info:
        admin.set_active(boss, other.id, False)
    assert info.value.status == 404 and users.get(other.id).active
    for call in (lambda: admin.set_active(boss, boss.id, False), lambda: admin.set_role(boss, boss.id, "analyst")):
        with pytest.raises(AdminError) as info:
            call()
        assert info.value.status == 409
    admin.set_active(boss, ann.id, False)
    assert not users.get(ann.id).active and ended == [(ann.id, "account disabled")]
    admin.reset_password(boss, ann.id, "ann-password-2")            # a new password: signed out everywhere
    assert ended[-1] == (ann.id, "password changed")
    admin.sign_out(boss, ann.id)                                      # a lost laptop
    assert ended[-1] == (ann.id, "signed out by an admin")
    assert [e["action"] for e in admin.audit_log(boss)][0] == "user.sign_out"
    with pytest.raises(AdminError) as info:
        admin.sign_out(ann, boss.id)
    assert info.value.status == 403
    with pytest.raises(AdminError) as info:
        admin.sign_out(boss, other.id)                                # another tenant's user: not found
    assert info.value.status == 404


def test_update_user_checks_everything_before_changing_anything(world):
    admin, users, _, _, boss, ann, _ = world
    with pytest.raises(AdminError):
        admin.update_user(boss, ann.id, role="admin", password="short")
    assert users.get(ann.id).role == "analyst" and admin.audit_log(boss) == []
    updated = admin.update_user(boss, ann.id, role="admin", active=False)
    assert (updated["role"], updated["active"]) == ("admin", False)
    assert [e["action"] for e in admin.audit_log(boss)] == ["user.disable", "user.role"]


def test_settings_validate_and_default_per_tenant(world):
    _, _, settings, *_ = world
    assert settings.source("default").simulator and not settings.source("t1").simulator
    assert list(settings.simulated_tenants()) == ["default"]
    settings.set_source("t1", check_source(True, 10, 0.1))
    assert set(settings.simulated_tenants()) == {"default", "t1"}
    settings.set_thresholds("t1", check_thresholds(30, 50, 70))
    assert settings.thresholds("t1").as_tuple() == (30, 50, 70) and settings.thresholds("t2") == DEFAULT_THRESHOLDS
    for bad in ((True, 0, 0.1), (True, 10, 0.9), ("yes", 10, 0.1), (True, float("nan"), 0.1)):
        with pytest.raises(SettingsError):
            check_source(*bad)
    for bad in ((50, 40, 90), (0, 40, 90), (10, 40, 101), (10.5, 40, 90), (True, 40, 90)):
        with pytest.raises(SettingsError):
            check_thresholds(*bad)


def test_risk_levels_follow_the_thresholds():
    risk = np.array([10, 35, 45, 65, 85])
    assert risk_levels(risk) == ["LOW", "LOW", "MEDIUM", "HIGH", "CRITICAL"]
    assert risk_levels(risk, (30, 40, 60)) == ["LOW", "MEDIUM", "HIGH", "CRITICAL", "CRITICAL"]


def test_a_tenant_with_lower_thresholds_gets_more_alerts_from_the_same_events():
    sim = RetailSimulator(seed=3, anomaly_rate=0.1)
    bank = ModelBank(seed=0)
    bank.warm_up([validate_event(e) for e in sim.history(3000)])
    events = [validate_event(sim.next_event()) for _ in range(500)]
    strict = BatchProcessor(bank, thresholds=lambda t: (40, 60, 80)).process(events)[0]
    loose = BatchProcessor(bank, thresholds=lambda t: (10, 20, 30)).process(events)[0]
    assert len(loose.alerts) > len(strict.alerts) > 0


def test_the_fleet_follows_the_settings(world):
    _, _, settings, *_ = world
    received = []
    fleet = SimulatorFleet(settings, lambda tenant, s: RetailSimulator(seed=1, tenant=tenant, anomaly_rate=s.anomaly_rate),
                           received.extend)
    fleet.reconcile()
    assert set(fleet.sources) == {"default"}
    settings.set_source("t1", SourceSettings(True, 40.0, 0.2))
    settings.set_source("default", SourceSettings(False, 5.0, 0.03))
    fleet.reconcile()
    assert set(fleet.sources) == {"t1"} and fleet.sources["t1"].simulator.anomaly_rate == 0.2
    deadline = time.monotonic() + 10
    while not received and time.monotonic() < deadline:
        time.sleep(0.05)
    fleet.sources["t1"].stop()
    assert received and {e["tenant"] for e in received} == {"t1"}


def test_tickets_work_once_and_expire():
    tickets = MemoryTickets(seconds=0.2)
    t = tickets.issue({"user": 1})
    assert tickets.redeem(t) == {"user": 1} and tickets.redeem(t) is None
    late = tickets.issue({"user": 1})
    time.sleep(0.3)
    assert tickets.redeem(late) is None and tickets.redeem("made-up") is None


def test_tickets_are_redacted_from_log_lines():
    import logging
    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, '"GET /ws?ticket=%s&x=1 HTTP/1.1" 101',
                               ("abc123secret",), None)
    RedactTickets().filter(record)
    assert "abc123secret" not in record.getMessage() and "ticket=[redacted]&x=1" in record.getMessage()
