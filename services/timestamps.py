"""The one timestamp form every message, row and log uses: UTC ISO 8601, milliseconds, a Z suffix.

Top-level because every layer needs it (stores stamp workflow changes, the protocol stamps
messages, simulators stamp events) and none of them should import another layer just for this.
"""
from __future__ import annotations

from datetime import datetime, timezone


def format_timestamp(moment: datetime) -> str:
    """UTC ISO 8601 with millisecond precision and a Z suffix, the form every message uses."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_iso() -> str:
    """This moment in that form."""
    return format_timestamp(datetime.now(timezone.utc))
