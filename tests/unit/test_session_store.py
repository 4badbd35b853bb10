"""Server-side sessions on SQLite and PostgreSQL, with a fake clock: lifetimes, ending one or all,
and the user changes (new password, disabled account) that end them."""
import sqlite3

import pytest

from services.security.sessions import TOUCH_SECONDS, SessionStore, session_key
from services.security.users import UserStore
from services.storage.db import Database

IDLE, MAX = 3600.0, 4 * 3600.0


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self):
        return self.now


@pytest.fixture
def world(database):
    db, clock = database, Clock()
    return SessionStore(db, IDLE, MAX, clock), UserStore(db), clock


def test_the_table_keeps_only_a_hash_of_the_token(world):
    sessions, users, _ = world
    user = users.create("ann", "ann-password")
    token = sessions.create(user.id)
    assert sessions.for_token(token).user_id == user.id
    stored = sessions.db.query("SELECT key FROM sessions")[0]["key"]
    assert stored == session_key(token) and token not in stored
    assert sessions.for_token("not-a-token") is None and sessions.for_token(None) is None


def test_a_session_ends_after_its_idle_time_unless_used(world):
    sessions, users, clock = world
    token = sessions.create(users.create("ann", "ann-password").id)
    for _ in range(4):                             # used every 50 minutes: lives past the idle time
        clock.now += IDLE - 600
        assert sessions.for_token(token) is not None
    clock.now += IDLE                              # then left alone for an hour
    assert sessions.for_token(token) is None
    assert sessions.db.query("SELECT COUNT(*) AS n FROM sessions")[0]["n"] == 0     # and gone for good


def test_a_session_ends_at_its_absolute_lifetime_however_busy(world):
    sessions, users, clock = world
    token = sessions.create(users.create("ann", "ann-password").id)
    while clock.now < 1_000_000.0 + MAX - 60:
        assert sessions.for_token(token) is not None
        clock.now += 600
    clock.now = 1_000_000.0 + MAX
    assert sessions.for_token(token) is None


def test_activity_is_written_at_most_once_a_minute(world):
    sessions, users, clock = world
    token = sessions.create(users.create("ann", "ann-password").id)
    seen = lambda: sessions.db.query("SELECT last_seen FROM sessions")[0]["last_seen"]   # noqa: E731
    first = seen()
    clock.now += TOUCH_SECONDS / 2
    sessions.for_token(token)
    assert seen() == first
    clock.now += TOUCH_SECONDS
    sessions.for_token(token)
    assert seen() == clock.now


def test_ending_one_session_leaves_the_others(world):
    sessions, users, _ = world
    ann, bob = users.create("ann", "ann-password"), users.create("bob", "bob-password")
    laptop, phone, bobs = sessions.create(ann.id), sessions.create(ann.id, remember=True), sessions.create(bob.id)
    assert sessions.end(session_key(laptop)) and not sessions.end(session_key(laptop))
    assert sessions.for_token(laptop) is None and sessions.for_token(phone).remember
    assert sessions.end_user(ann.id) == 1
    assert sessions.for_token(phone) is None and sessions.for_token(bobs) is not None


def test_a_new_password_or_a_disabled_account_ends_every_session_for_good(world):
    sessions, users, _ = world
    ann, bob = users.create("ann", "ann-password"), users.create("bob", "bob-password")
    before, bobs = sessions.create(ann.id), sessions.create(bob.id)
    users.set_password(ann.id, "ann-password-2")
    assert sessions.for_token(before) is None and sessions.for_token(bobs) is not None
    assert users.authenticate("ann", "ann-password") is None and users.authenticate("ann", "ann-password-2")
    after = sessions.create(ann.id)
    users.set_active(ann.id, False)
    assert sessions.for_token(after) is None
    users.set_active(ann.id, True)                 # enabled again: no old session comes back
    assert sessions.for_token(after) is None and sessions.for_token(bobs) is not None


def test_expired_sessions_are_swept_when_a_new_one_begins(world):
    sessions, users, clock = world
    ann = users.create("ann", "ann-password")
    for _ in range(3):
        sessions.create(ann.id)
    clock.now += IDLE + 1
    sessions.create(ann.id)
    assert sessions.db.query("SELECT COUNT(*) AS n FROM sessions")[0]["n"] == 1 and sessions.count(ann.id) == 1


def test_a_database_from_before_server_side_sessions_gains_the_table(tmp_path):
    """Users keep their accounts; sessions from the signed-cookie era simply sign in again once."""
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, username TEXT NOT NULL UNIQUE,"
                 " password_hash TEXT NOT NULL, role TEXT NOT NULL, tenant TEXT NOT NULL DEFAULT 'default',"
                 " active INTEGER NOT NULL DEFAULT 1, created_at TEXT NOT NULL)")
    conn.execute("INSERT INTO users (username, password_hash, role, created_at) VALUES ('old', 'x', 'admin', 'then')")
    conn.commit()
    conn.close()
    db = Database(path)
    users = UserStore(db)
    old = users.find("old")
    token = SessionStore(db, IDLE, MAX).create(old.id)
    assert SessionStore(db, IDLE, MAX).for_token(token).user_id == old.id
