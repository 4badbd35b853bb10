"""The colour theme, applied before the first paint.

Bootstrap 5.3 colour modes read `data-bs-theme` on <html>. The server writes the signed-in user's choice
there (services.security.preferences: light, dark or "system") with `lang`, and a small synchronous
script in <head> (assets/boot/theme.js: not one of Dash's end-of-body assets, which run after the first
paint) resolves "system" from `prefers-color-scheme` and follows it when it changes. So no page ever
flashes light before going dark. The navbar's theme menu (components/navbar.py) switches it live.
"""
from __future__ import annotations

import logging
from functools import partial

import dash
from flask_login import current_user

from services.security.preferences import Preferences

log = logging.getLogger(__name__)

BOOT_SCRIPT = "boot/theme.js"      # under assets/; kept out of Dash's own script list (assets_ignore)


def current_preferences() -> Preferences:
    """The signed-in user's preferences; the defaults for anyone else or while the database is away."""
    if not current_user or not current_user.is_authenticated:
        return Preferences()
    from services.web.runtime_access import get_runtime
    try:
        return get_runtime().users.preferences(current_user.id)
    except Exception as exc:   # noqa: BLE001 - a page must render with the database away
        log.debug("preferences unavailable (%s): defaults", exc)
        return Preferences()


def _themed_index(app: dash.Dash, original, **parts) -> str:
    prefs = current_preferences()
    resolved = prefs.theme if prefs.theme != "system" else "light"   # the boot script corrects "system" before paint
    html = original(**parts)
    html = html.replace("<html>", f'<html lang="en" data-bs-theme="{resolved}" data-pulse-theme="{prefs.theme}" '
                                  f'data-pulse-notify="{prefs.notify}">', 1)
    boot = f'<script src="{app.get_asset_url(BOOT_SCRIPT)}"></script>'
    return html.replace("<head>", f'<head>\n        <meta name="color-scheme" content="light dark">\n        {boot}', 1)


def install(app: dash.Dash) -> None:
    """Serve every page with the user's theme and the boot script."""
    app.interpolate_index = partial(_themed_index, app, app.interpolate_index)
