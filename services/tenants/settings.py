"""Per-tenant settings an admin changes at run time: the data source and the alert thresholds.

They live in SQLite (the shared DATA_DIR), so every process of a deployment reads the same values:
the pipeline (embedded) or the leader worker (distributed) re-reads the data source every couple
of seconds, and scoring reads a tenant's thresholds through a short cache. The default tenant
starts from the environment (SIMULATOR, SIM_RATE, SIM_ANOMALY_RATE); other tenants start with the
simulator off, so a new team sees only its own data until it asks for demo data.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone

from sqlalchemy import select

from services.storage.db import Database, unavailable
from services.storage.schema import tenant_settings as table
from services.scoring.models import RISK_THRESHOLDS

MAX_SIM_RATE = 5000.0
DEFAULT_TENANT = "default"


class SettingsError(ValueError):
    """A setting cannot take the value asked for; `field` names it."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class SourceSettings:
    simulator: bool
    rate: float           # simulated events per second
    anomaly_rate: float   # share of simulated events with an injected anomaly, 0-0.5


@dataclass(frozen=True)
class Thresholds:
    """Risk scores (0-100) at which an event becomes MEDIUM, HIGH and CRITICAL; HIGH and up raise alerts."""
    medium: int
    high: int
    critical: int

    def as_tuple(self) -> tuple[int, int, int]:
        return self.medium, self.high, self.critical


DEFAULT_THRESHOLDS = Thresholds(*RISK_THRESHOLDS)


def check_source(simulator, rate, anomaly_rate) -> SourceSettings:
    if not isinstance(simulator, bool):
        raise SettingsError("simulator", "simulator must be true or false")
    rate, anomaly_rate = _number("rate", rate), _number("anomaly_rate", anomaly_rate)
    if not 0 < rate <= MAX_SIM_RATE:
        raise SettingsError("rate", f"the rate must be above 0 and at most {MAX_SIM_RATE:g} events/s")
    if not 0 <= anomaly_rate <= 0.5:
        raise SettingsError("anomaly_rate", "the anomaly share must be between 0 and 0.5 (0-50 %)")
    return SourceSettings(simulator, rate, anomaly_rate)


def check_thresholds(medium, high, critical) -> Thresholds:
    values = {}
    for name, value in (("medium", medium), ("high", high), ("critical", critical)):
        number = _number(name, value)
        if number != int(number) or not 1 <= number <= 100:
            raise SettingsError(name, f"the {name.upper()} threshold must be a whole number from 1 to 100")
        values[name] = int(number)
    if not values["medium"] < values["high"] < values["critical"]:
        raise SettingsError("high", "thresholds must rise: MEDIUM < HIGH < CRITICAL")
    return Thresholds(**values)


def _number(field: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SettingsError(field, f"{field} must be a finite number")
    return float(value)


class TenantSettings:
    def __init__(self, db: Database, default_source: SourceSettings, cache_seconds: float = 2.0):
        self.db = db
        self.default_source = default_source
        self.cache_seconds = cache_seconds
        self._thresholds: dict[str, tuple[float, Thresholds]] = {}

    @classmethod
    def from_config(cls, db: Database, config) -> "TenantSettings":
        """The default tenant's data source comes from SIMULATOR, SIM_RATE and SIM_ANOMALY_RATE."""
        return cls(db, SourceSettings(bool(config.simulator and config.sim_rate > 0), config.sim_rate,
                                      config.sim_anomaly_rate))

    # -- reads ---------------------------------------------------------------------------------
    def _read(self, tenant: str, name: str) -> dict | None:
        rows = self.db.query(select(table.c.value).where(table.c.tenant == tenant, table.c.name == name))
        return json.loads(rows[0]["value"]) if rows else None

    def source(self, tenant: str) -> SourceSettings:
        stored = self._read(tenant, "source")
        if stored is not None:
            return SourceSettings(**stored)
        if tenant == DEFAULT_TENANT:
            return self.default_source
        return SourceSettings(False, self.default_source.rate, self.default_source.anomaly_rate)

    def simulated_tenants(self) -> dict[str, SourceSettings]:
        """Every tenant whose simulator should run now, with its settings."""
        tenants = {r["tenant"] for r in self.db.query(select(table.c.tenant).where(table.c.name == "source"))}
        tenants.add(DEFAULT_TENANT)
        return {t: s for t in sorted(tenants) if (s := self.source(t)).simulator and s.rate > 0}

    def thresholds(self, tenant: str) -> Thresholds:
        """A tenant's thresholds; read at most every `cache_seconds` (scoring asks once per batch).
        With the database unreachable the last values read stand (scoring goes on); with none, it raises."""
        cached = self._thresholds.get(tenant)
        now = time.monotonic()
        if cached is not None and now - cached[0] < self.cache_seconds:
            return cached[1]
        try:
            stored = self._read(tenant, "thresholds")
        except Exception as exc:
            if cached is None or not unavailable(exc):
                raise
            return cached[1]
        value = Thresholds(**stored) if stored else DEFAULT_THRESHOLDS
        self._thresholds[tenant] = (now, value)
        return value

    # -- writes --------------------------------------------------------------------------------
    def _write(self, tenant: str, name: str, value: dict) -> None:
        with self.db.connect() as conn:
            statement = self.db.insert(table).values(tenant=tenant, name=name, value=json.dumps(value),
                                                     updated_at=datetime.now(timezone.utc).isoformat())
            conn.execute(statement.on_conflict_do_update(index_elements=["tenant", "name"], set_={
                "value": statement.excluded.value, "updated_at": statement.excluded.updated_at}))

    def set_source(self, tenant: str, settings: SourceSettings) -> None:
        self._write(tenant, "source", asdict(settings))

    def set_thresholds(self, tenant: str, thresholds: Thresholds) -> None:
        self._write(tenant, "thresholds", asdict(thresholds))
        self._thresholds.pop(tenant, None)
