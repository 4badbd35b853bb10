"""Times the server renders into a page (the Admin tables), shown like every time the browser renders
(assets/js/common.js, pulseFormatTime): "10:46:07" today, else "2 Dec 10:46:07 UTC".

The server does not know the browser's time zone, so it writes UTC, and a <time> element carrying the
exact moment: the browser rewrites its text in its own zone, with the zone's label, as it does for
the times it draws itself. A page therefore never mixes two ways of showing a time.
"""
from __future__ import annotations

from datetime import datetime, timezone

from dash import html


def parse(value) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip().replace(" ", "T", 1))
        except ValueError:
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def time_text(value, now: datetime | None = None) -> str:
    """The UTC form of a time (ISO text or datetime); unreadable values are shown as they are."""
    moment = parse(value)
    if moment is None:
        return str(value or "—")
    moment, now = moment.astimezone(timezone.utc), (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    clock = moment.strftime("%H:%M:%S")
    if moment.date() == now.date():
        return clock
    day = f"{moment.day} {moment.strftime('%b')}" + (f" {moment.year}" if moment.year != now.year else "")
    return f"{day} {clock} UTC"


def time_cell(value) -> html.Time | str:
    """A <time> the browser shows in its own zone (its text here is the UTC form, until then)."""
    moment = parse(value)
    if moment is None:
        return str(value or "—")
    return html.Time(time_text(moment), dateTime=moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z"),
                     className="pulse-time")
