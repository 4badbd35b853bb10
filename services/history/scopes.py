"""Rollup scopes: the keys a rollup row sums up, so a chart reads a few pre-summed rows, never raw events.

A retail event adds to `retail` (the whole tenant), `store=S`, `dept=D` and `store=S/dept=D`; a sensor
reading adds to `sensor`, `type=T`, `asset=A`, `asset=A/type=T` and `sensor=ID`. A filtered query
sums the rows of the scopes it selects (disjoint by construction: two stores never share a row).
"""
from __future__ import annotations

RETAIL, SENSOR = "retail", "sensor"


def event_scopes(event: dict) -> tuple[str, ...]:
    if event["profile"] == SENSOR:
        asset, kind = event["asset_id"], event["sensor_type"]
        return (SENSOR, f"type={kind}", f"asset={asset}", f"asset={asset}/type={kind}", f"sensor={event['sensor_id']}")
    store, dept = event["store"], event["dept"]
    return (RETAIL, f"store={store}", f"dept={dept}", f"store={store}/dept={dept}")


def query_scopes(stores=(), depts=(), assets=(), sensors=(), sensor_types=()) -> list[str]:
    """The disjoint scopes whose rows sum to the selection (one filter list empty = all of it)."""
    if sensors:
        return [f"sensor={s}" for s in sensors]
    if assets and sensor_types:
        return [f"asset={a}/type={t}" for a in assets for t in sensor_types]
    if assets:
        return [f"asset={a}" for a in assets]
    if sensor_types:
        return [f"type={t}" for t in sensor_types]
    if stores and depts:
        return [f"store={s}/dept={d}" for s in stores for d in depts]
    if stores:
        return [f"store={s}" for s in stores]
    if depts:
        return [f"dept={d}" for d in depts]
    return [RETAIL]
