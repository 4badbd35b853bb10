"""What a filtered dashboard shows: a selection of stores/depts or assets/sensors, applied on the server.

A socket's `subscribe` (or `filter`) message may carry `"filter": {"store": [5], "dept": [3],
"asset_id": ["pump-02"], "sensor_id": [...]}`; from then on the socket only receives the points,
alerts, health and readings of the selection, so a filtered tab receives only what it shows. Each
message the pipeline publishes carries a `scope` naming its entity (`store=5/dept=3`, or
`asset=pump-02/sensor=pump-02-vib`); matching a scope is a couple of string splits, paid only by
filtered sockets. Messages without a scope (KPIs, system, market) are not entities: they pass.
"""
from __future__ import annotations

from dataclasses import dataclass

MAX_VALUES = 200
FIELDS = ("store", "dept", "asset_id", "sensor_id")


class SelectionError(ValueError):
    def __init__(self, reason: str):
        super().__init__(reason)


def retail_scope(store, dept) -> str:
    return f"store={store}/dept={dept}"


def sensor_scope(asset_id: str, sensor_id: str | None) -> str:
    return f"asset={asset_id}/sensor={sensor_id or ''}"


def scope_of(record: dict) -> str | None:
    """The scope of an alert, point, health record or reading (None if it names no entity)."""
    if record.get("asset_id"):
        return sensor_scope(record["asset_id"], record.get("sensor_id"))
    data = record.get("data") or record
    if data.get("store") is not None:
        return retail_scope(data["store"], data.get("dept"))
    return None


@dataclass(frozen=True)
class Selection:
    stores: frozenset = frozenset()
    depts: frozenset = frozenset()
    assets: frozenset = frozenset()
    sensors: frozenset = frozenset()

    @classmethod
    def parse(cls, raw) -> "Selection | None":
        """A client's filter object; None (or {}) selects everything. Raises SelectionError."""
        if raw is None:
            return None
        if not isinstance(raw, dict):
            raise SelectionError("'filter' must be an object like {\"store\": [5], \"dept\": [3]}")
        unknown = sorted(set(raw) - set(FIELDS))
        if unknown:
            raise SelectionError(f"unknown filter field(s): {', '.join(unknown)}; expected {', '.join(FIELDS)}")
        values = {}
        for name in FIELDS:
            items = raw.get(name) or []
            if not isinstance(items, list) or len(items) > MAX_VALUES:
                raise SelectionError(f"'filter.{name}' must be a list of at most {MAX_VALUES} values")
            if name in ("store", "dept"):
                if not all(type(v) is int and 0 < v < 2**31 for v in items):
                    raise SelectionError(f"'filter.{name}' must hold positive integers")
            elif not all(isinstance(v, str) and 0 < len(v) <= 200 for v in items):
                raise SelectionError(f"'filter.{name}' must hold names of 1-200 characters")
            values[name] = frozenset(items)
        if (values["store"] or values["dept"]) and (values["asset_id"] or values["sensor_id"]):
            raise SelectionError("a filter selects stores/depts or assets/sensors, not both")
        selection = cls(values["store"], values["dept"], values["asset_id"], values["sensor_id"])
        return selection if selection.active else None

    @property
    def active(self) -> bool:
        return bool(self.stores or self.depts or self.assets or self.sensors)

    @property
    def retail(self) -> bool:
        return bool(self.stores or self.depts)

    def as_dict(self) -> dict:
        return {"store": sorted(self.stores), "dept": sorted(self.depts), "asset_id": sorted(self.assets),
                "sensor_id": sorted(self.sensors)}

    def matches(self, scope: str | None) -> bool:
        if scope is None:
            return True
        if scope.startswith("store="):
            if not self.retail:
                return False
            store, _, dept = scope[6:].partition("/dept=")
            return ((not self.stores or int(store) in self.stores)
                    and (not self.depts or (dept.isdigit() and int(dept) in self.depts)))
        if scope.startswith("asset="):
            if self.retail:
                return False
            asset, _, sensor = scope[6:].partition("/sensor=")
            return (not self.assets or asset in self.assets) and (not self.sensors or sensor in self.sensors)
        return True

    def keeps(self, record: dict) -> bool:
        return self.matches(scope_of(record))


def select_live(live: dict, selection: Selection) -> dict:
    """The live part of a snapshot (points, health, sensors) cut down to a selection."""
    out = dict(live)
    for name in ("points", "health", "sensors"):
        out[name] = [r for r in live.get(name) or [] if selection.keeps(r)]
    return out
