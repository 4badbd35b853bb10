"""The disk cache of Dash background callbacks (DATA_DIR/callback-cache, embedded mode).

It holds only in-flight job results, so a cache that cannot be opened (a corrupt or truncated
SQLite file, say) is deleted and created afresh with a WARNING instead of stopping the app:
at worst a Monte Carlo run that was in progress is started again.
"""
from __future__ import annotations

import logging
import shutil
import sqlite3
from pathlib import Path

import diskcache

log = logging.getLogger(__name__)


def open_callback_cache(path: Path) -> diskcache.Cache:
    try:
        return diskcache.Cache(str(path))
    except (sqlite3.DatabaseError, OSError) as exc:
        log.warning("the background-callback cache %s is unreadable (%s): deleted it and started an empty one "
                    "(it holds only running jobs' results)", path, exc)
        shutil.rmtree(path, ignore_errors=True)
        return diskcache.Cache(str(path))
