"""Schema migrations (Alembic, revisions in services/storage/migrations/versions), run at every open.

    python -m services.storage.migrate upgrade     # bring the database up to the newest revision
    python -m services.storage.migrate current     # print the database's revision
    python -m services.storage.migrate upgrade --quiet     # no progress bar (none either when not a terminal)

`Database` upgrades when it opens, so a start after an upgrade of the code needs nothing by hand.
N processes starting together migrate once: the first takes the migration lock (PostgreSQL: a
transaction-level advisory lock; SQLite: a file lock beside the database, then BEGIN IMMEDIATE),
migrates in one transaction and commits; the others wait for it, then find nothing to do. A
database made by a release before Alembic (SQLite, no alembic_version table) is adopted by the
first revision, rows kept. The upgrade runs one revision at a time (still one transaction), so the command
can show a bar of the revisions applied, their rate and the time left, then a summary line.
"""
from __future__ import annotations

import argparse
import fcntl
import sqlite3
import sys
import time
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
ADVISORY_LOCK = 0x70756c7365      # "pulse": the PostgreSQL advisory lock key of migrations


def alembic_config(connection=None) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


@cache
def head() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current(db) -> str | None:
    """The database's revision (None: empty, or made by a release before Alembic)."""
    with db.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@contextmanager
def _file_lock(path: Path):
    with open(f"{path}.migrate-lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def _no_lock():
    yield


def steps(now: str | None, revision: str) -> list[str]:
    """The revisions from `now` (None: an empty database) up to `revision`, oldest first; a target Alembic must
    resolve itself (relative, a downgrade, unknown) is one step, and Alembic says what is wrong with it."""
    if revision[:1] in "+-":
        return [revision]
    try:
        found = ScriptDirectory.from_config(alembic_config()).iterate_revisions(revision, now)
        return [r.revision for r in reversed(list(found))]
    except RevisionError:
        return [revision]


def upgrade(db, revision: str = "head", on_step=None) -> bool:
    """Migrate to `revision` under the lock; False when there was nothing to do (checked before the
    lock, the common case at start, and again under it: another process may just have migrated).
    `on_step(revision, done, total)` hears each revision once applied (the command's progress bar)."""
    if revision == "head" and current(db) == head():
        return False
    with _file_lock(db.path) if db.path else _no_lock():
        with db.connect(begin="BEGIN IMMEDIATE") as conn:
            if db.dialect == "postgresql":
                conn.execute(select(func.pg_advisory_xact_lock(ADVISORY_LOCK)))
            now = MigrationContext.configure(conn).get_current_revision()
            if revision == "head" and now == head():
                return False
            todo = steps(now, revision)
            for done, step in enumerate(todo, 1):
                command.upgrade(alembic_config(conn), step)
                if on_step:
                    on_step(step, done, len(todo))
    return True


def main(argv=None) -> int:
    from services.config import Config
    from services.storage.db import Database
    parser = argparse.ArgumentParser(prog="python -m services.storage.migrate",
                                     description="Migrate Pulseboard's database (DATABASE_URL, or SQLite in DATA_DIR).")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("upgrade", help="upgrade to the newest revision (or the one given)")
    up.add_argument("revision", nargs="?", default="head")
    up.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    sub.add_parser("current", help="print the database's revision")
    args = parser.parse_args(argv)
    db = Database.from_config(Config.from_env(), migrate=False)
    try:
        if args.command == "upgrade":
            _upgrade_with_progress(db, args.revision, args.quiet)
        print(f"{db.display_url}: revision {current(db) or 'none'} (newest: {head()})")
    except (DBAPIError, sqlite3.DatabaseError) as exc:      # one clear line, no traceback
        print(f"error: {db.unreadable(exc)}", file=sys.stderr)
        return 1
    finally:
        db.dispose()
    return 0


def _upgrade_with_progress(db, revision: str, quiet: bool) -> None:
    """`upgrade` with a bar of the revisions applied, then one line: from which revision, how many, how long."""
    from tqdm import tqdm
    started, before, bar, applied = time.monotonic(), current(db), None, []

    def step(revision_id, done, total):
        nonlocal bar
        bar = bar or tqdm(total=total, unit="revision", desc="migrating", file=sys.stderr, leave=False,
                          disable=quiet or not sys.stderr.isatty())
        bar.set_postfix_str(revision_id, refresh=False)
        bar.update(1)
        applied.append(revision_id)
    try:
        upgrade(db, revision, on_step=step)
    finally:
        if bar:
            bar.close()
    if applied:
        print(f"upgraded from revision {before or 'none'} to {applied[-1]}: {len(applied)} "
              f"migration{'s' if len(applied) != 1 else ''} in {time.monotonic() - started:.1f} s")
    else:
        print("nothing to upgrade")


if __name__ == "__main__":
    sys.exit(main())
