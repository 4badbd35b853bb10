"""The built-in simulators, one per tenant whose data-source settings turn it on.

Admins switch their tenant's simulator on or off and set its rate and anomaly share on the Admin
page (services.tenants.settings, in SQLite). The fleet re-reads those settings every `interval`
seconds and starts, stops or retunes each tenant's `SimulatorSource` to match, so a change takes
effect within seconds in whichever process runs the fleet: the embedded runtime, or the leader
worker in distributed mode (all processes share DATA_DIR). Each tenant's simulator tags its events
with that tenant, so their data never mixes.
"""
from __future__ import annotations

import logging
import zlib
from typing import Callable

from services.background import BackgroundThread
from services.simulation.sensor import make_simulator
from services.simulation.retail import SimulatorSource
from services.tenants.settings import DEFAULT_TENANT, SourceSettings, TenantSettings

log = logging.getLogger(__name__)


def set_anomaly_rate(simulator, rate: float) -> None:
    """Retune a simulator (or each part of a mixed one) without restarting it."""
    for sim in getattr(simulator, "simulators", (simulator,)):
        sim.anomaly_rate = rate


class SimulatorFleet(BackgroundThread):
    thread_name = "simulators"

    def __init__(self, settings: TenantSettings, make: Callable[[str, SourceSettings], object],
                 sink: Callable[[list[dict]], object], interval: float = 2.0):
        self.settings = settings
        self.make = make          # (tenant, settings) -> a simulator producing that tenant's events
        self.sink = sink
        self.interval = interval
        self.sources: dict[str, SimulatorSource] = {}
        self._read_failing = False
        self._init_thread()

    def _run(self) -> None:
        while True:
            self.reconcile()
            if self._stop.wait(self.interval):
                break
        for source in self.sources.values():
            source.stop()
        self.sources = {}

    def reconcile(self) -> None:
        """Make the running simulators match the stored settings (a failed read changes nothing)."""
        try:
            wanted = self.settings.simulated_tenants()
        except Exception as exc:     # e.g. the database away: the traceback once, then one line per try
            if self._read_failing:
                log.warning("still cannot read the data-source settings (%s); simulators unchanged",
                            type(exc).__name__)
            else:
                log.exception("could not read the data-source settings; simulators unchanged")
            self._read_failing = True
            return
        self._read_failing = False
        for tenant in [t for t in self.sources if t not in wanted]:
            self.sources.pop(tenant).stop()
            log.info("simulator for tenant %s stopped", tenant)
        for tenant, settings in wanted.items():
            source = self.sources.get(tenant)
            if source is None:
                source = SimulatorSource(self.make(tenant, settings), self.sink, settings.rate)
                self.sources = {**self.sources, tenant: source}
                source.start()
                log.info("simulator for tenant %s started at %g events/s", tenant, settings.rate)
            source.rate = settings.rate
            set_anomaly_rate(source.simulator, settings.anomaly_rate)


def fleet_for(config, settings: TenantSettings, sink, prepared=None, unique_ids: bool = False) -> SimulatorFleet:
    """The fleet of a process: SIM_PROFILE simulators, the default tenant's seeded with SIM_SEED (and
    `prepared`, the simulator the models were warmed up on, used first so its stream continues),
    every other tenant's with a seed of its own."""
    spare = [prepared] if prepared is not None else []

    def make(tenant: str, source: SourceSettings):
        if tenant == DEFAULT_TENANT and spare:
            return spare.pop()
        seed = config.sim_seed
        if seed is not None and tenant != DEFAULT_TENANT:
            seed += zlib.crc32(tenant.encode())
        return make_simulator(config.sim_profile, seed, source.anomaly_rate, tenant=tenant, unique_ids=unique_ids)

    return SimulatorFleet(settings, make, sink)
