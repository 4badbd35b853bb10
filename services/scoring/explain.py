"""The human "why" of an alert: which values made the event unusual, against what was expected.

An analyst should not have to reverse-engineer a risk score, so every alert carries a short
message and a reason built here from the same z-scores and expectations the models computed.
"""
from __future__ import annotations

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
