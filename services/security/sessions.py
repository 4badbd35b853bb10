"""Server-side sessions: the cookie carries only a random token; the session is a row here.

Flask's default session is a signed cookie, and a signed cookie cannot be revoked by forgetting it:
whoever kept a copy stays signed in. So a sign-in creates a row (keyed by the SHA-256 of the
token, so a leaked database holds no usable token) with its idle and absolute expiry, every request
and every open socket checks it, and ending a session deletes it: logout ends this browser's
session, a new password, a disabled account or "sign out everywhere" end all of a user's. Every web
process reads the same table, so an ended session is dead everywhere at once.

`last_seen` is written at most once a minute per session (TOUCH_SECONDS), so a page that polls does
not turn every request into a write; idle expiry is therefore exact to within that minute.
"""
from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import delete, func, insert, or_, select, update

from services.security.passwords import secret_digest
from services.storage.db import Database
from services.storage.schema import sessions as table

TOUCH_SECONDS = 60.0


def session_key(token: str) -> str:
    """What the table stores and sockets are grouped by: never the token itself."""
    return secret_digest(token)


@dataclass(frozen=True)
class Session:
    key: str
    user_id: int
    created_at: float
    last_seen: float
    expires_at: float
    remember: bool


class SessionStore:
    def __init__(self, db: Database, idle_seconds: float, max_seconds: float, clock: Callable[[], float] = time.time):
        self.db = db
        self.idle_seconds, self.max_seconds = idle_seconds, max_seconds
        self.clock = clock

    def create(self, user_id: int, remember: bool = False) -> str:
        """A new session for this user; returns the token for the cookie (shown nowhere else)."""
        token, now = secrets.token_urlsafe(32), self.clock()
        with self.db.connect() as conn:
            conn.execute(delete(table).where(or_(table.c.expires_at <= now, table.c.last_seen <= now - self.idle_seconds)))
            conn.execute(insert(table).values(key=session_key(token), user_id=int(user_id), created_at=now,
                                              last_seen=now, expires_at=now + self.max_seconds, remember=int(remember)))
        return token

    def find(self, key: str, touch: bool = False) -> Session | None:
        """The session with this key while it is live (neither idle too long nor past its absolute
        lifetime); with `touch`, this use counts as activity."""
        rows = self.db.query(select(table).where(table.c.key == key))
        if not rows:
            return None
        found, now = _session(rows[0]), self.clock()
        if now >= found.expires_at or now - found.last_seen >= self.idle_seconds:
            self.end(key)
            return None
        if touch and now - found.last_seen >= TOUCH_SECONDS:
            with self.db.connect() as conn:
                conn.execute(update(table).where(table.c.key == key).values(last_seen=now))
        return found

    def for_token(self, token) -> Session | None:
        """The live session a cookie's token stands for (a request: counts as activity)."""
        if not isinstance(token, str) or not token:
            return None
        return self.find(session_key(token), touch=True)

    def end(self, key: str) -> bool:
        with self.db.connect() as conn:
            return conn.execute(delete(table).where(table.c.key == key)).rowcount > 0

    def end_user(self, user_id) -> int:
        """Every session of a user (new password, disabled account, sign out everywhere)."""
        with self.db.connect() as conn:
            return conn.execute(delete(table).where(table.c.user_id == int(user_id))).rowcount

    def count(self, user_id) -> int:
        now = self.clock()
        return self.db.query(select(func.count().label("n")).select_from(table).where(
            table.c.user_id == int(user_id), table.c.expires_at > now, table.c.last_seen > now - self.idle_seconds))[0]["n"]


def _session(row) -> Session:
    return Session(row["key"], row["user_id"], row["created_at"], row["last_seen"], row["expires_at"],
                   bool(row["remember"]))
