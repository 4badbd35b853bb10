"""A user's own settings: the colour theme and which alerts pop up as toasts.

Stored per user (users.preferences, JSON) so they follow the person to any browser and host. Unknown
keys and values are refused with a message naming them (the API answers 400); a stored value that is no
longer valid (an older release, a hand edit) reads as the default, never as an error.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace

THEMES = ("system", "light", "dark")
# Which alert toasts a user sees; the bell counts every alert whatever the choice, and a user's own
# notifications (their calculation finished, their upload was analysed) always show.
NOTIFY = ("all", "high", "critical", "muted")
NOTIFY_LABELS = {"all": "All notifications", "high": "HIGH and CRITICAL alerts", "critical": "CRITICAL alerts only",
                 "muted": "No alert pop-ups"}
THEME_LABELS = {"system": "Follow the system", "light": "Light", "dark": "Dark"}


class PreferenceError(ValueError):
    """A preference cannot be set as asked; the message names the field and what it accepts."""


@dataclass(frozen=True)
class Preferences:
    theme: str = "system"
    notify: str = "critical"     # calm by default: CRITICAL alerts only, grouped into digests

    @classmethod
    def from_json(cls, text: str | None) -> "Preferences":
        """What is stored, each field checked: anything unreadable or no longer valid is the default."""
        try:
            stored = json.loads(text or "{}")
        except (TypeError, ValueError):
            stored = {}
        if not isinstance(stored, dict):
            stored = {}
        default = cls()
        return cls(theme=stored.get("theme") if stored.get("theme") in THEMES else default.theme,
                   notify=stored.get("notify") if stored.get("notify") in NOTIFY else default.notify)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    def as_dict(self) -> dict:
        return asdict(self)

    def updated(self, changes) -> "Preferences":
        """These preferences with `changes` (a dict from a client) applied, or PreferenceError."""
        if not isinstance(changes, dict) or not changes:
            raise PreferenceError('send a JSON object with "theme" and/or "notify"')
        unknown = sorted(set(changes) - {"theme", "notify"})
        if unknown:
            raise PreferenceError(f"unknown preference {unknown[0]!r}: use theme or notify")
        for name, allowed in (("theme", THEMES), ("notify", NOTIFY)):
            if name in changes and changes[name] not in allowed:
                raise PreferenceError(f"{name} must be one of {', '.join(allowed)}")
        return replace(self, **changes)
