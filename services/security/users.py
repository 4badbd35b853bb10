"""Users and their roles, kept in SQLite with scrypt password hashes.

`User` is who a request or socket acts as; it carries the tenant, so every later lookup (channels,
alerts, uploads) is scoped by the authenticated user rather than by what a client sends, and the
session it came with (services.security.sessions), so logout ends exactly that session.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from functools import cache
from datetime import datetime, timezone

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from services.security.passwords import check_password, hash_password
from services.security.preferences import Preferences
from services.storage.db import Database
from services.storage.schema import sessions, users

ROLES = ("admin", "analyst")


@cache
def _dummy_hash() -> str:
    """A real hash to check against when the user does not exist, so a wrong username costs the
    same time as a wrong password and the answer does not reveal which one was wrong."""
    return hash_password(secrets.token_hex(8))


class UserError(ValueError):
    """A user cannot be created or changed as asked; the message says why."""


@dataclass(frozen=True)
class User:
    id: int
    username: str
    role: str
    tenant: str
    active: bool
    session_token: str | None = field(default=None, repr=False, compare=False)   # the cookie's, when signed in
    session_key: str | None = field(default=None, repr=False, compare=False)     # that session, as stored

    # flask-login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str | None:
        """What the session cookie stores: the session's token, never the user id (a cookie that
        names a user could not be revoked; a token is looked up server-side on every request)."""
        return self.session_token

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def _row_to_user(row) -> User:
    return User(row["id"], row["username"], row["role"], row["tenant"], bool(row["active"]))


class UserStore:
    def __init__(self, db: Database):
        self.db = db

    def create(self, username: str, password: str, role: str = "analyst", tenant: str = "default") -> User:
        username = (username or "").strip()
        if not username or len(username) > 64:
            raise UserError("username must be 1-64 characters")
        if role not in ROLES:
            raise UserError(f"role must be one of {', '.join(ROLES)}")
        if len(password or "") < 8:
            raise UserError("password must be at least 8 characters")
        created = datetime.now(timezone.utc).isoformat()
        try:
            with self.db.connect() as conn:
                user_id = conn.execute(insert(users).values(
                    username=username, password_hash=hash_password(password), role=role, tenant=tenant,
                    created_at=created)).inserted_primary_key[0]
        except IntegrityError:
            raise UserError(f"user {username!r} already exists") from None
        return User(user_id, username, role, tenant, True)

    def get(self, user_id) -> User | None:
        try:
            user_id = int(user_id)
        except (TypeError, ValueError):
            return None
        if abs(user_id) >= 2**63:                 # no such id can exist (and would not bind)
            return None
        rows = self.db.query(select(users).where(users.c.id == user_id))
        return _row_to_user(rows[0]) if rows else None

    def set_active(self, user_id, active: bool) -> bool:
        """Enable or disable an account. Disabling ends every session of the user in the same
        transaction, so enabling it again later revives none of them."""
        with self.db.connect() as conn:
            changed = conn.execute(update(users).where(users.c.id == int(user_id)).values(active=int(active))).rowcount
            if changed and not active:
                conn.execute(delete(sessions).where(sessions.c.user_id == int(user_id)))
            return changed > 0

    def list(self, tenant: str) -> list[dict]:
        """A tenant's users for the Admin page (never the password hashes)."""
        c = users.c
        rows = self.db.query(select(c.id, c.username, c.role, c.tenant, c.active, c.created_at)
                             .where(c.tenant == tenant).order_by(c.username))
        return [{**dict(r), "active": bool(r["active"])} for r in rows]

    def set_role(self, user_id, role: str) -> bool:
        if role not in ROLES:
            raise UserError(f"role must be one of {', '.join(ROLES)}")
        with self.db.connect() as conn:
            return conn.execute(update(users).where(users.c.id == int(user_id)).values(role=role)).rowcount > 0

    def set_password(self, user_id, password: str) -> bool:
        """A new password; every session signed in with the old one ends in the same transaction."""
        if len(password or "") < 8:
            raise UserError("password must be at least 8 characters")
        with self.db.connect() as conn:
            changed = conn.execute(update(users).where(users.c.id == int(user_id))
                                   .values(password_hash=hash_password(password))).rowcount
            conn.execute(delete(sessions).where(sessions.c.user_id == int(user_id)))
            return changed > 0

    def preferences(self, user_id) -> Preferences:
        """The user's preferences (the defaults for anything not chosen or no longer valid)."""
        rows = self.db.query(select(users.c.preferences).where(users.c.id == int(user_id)))
        return Preferences.from_json(rows[0]["preferences"] if rows else None)

    def set_preferences(self, user_id, changes: dict) -> Preferences:
        """Apply `changes` (PreferenceError names a bad field); the preferences now stored. A read then a
        write: on SQLite the write lock is taken first (a deferred transaction whose snapshot another
        writer moved on fails at once with "database is locked", without waiting)."""
        with self.db.connect(begin="BEGIN IMMEDIATE") as conn:
            stored = conn.execute(select(users.c.preferences).where(users.c.id == int(user_id))).scalar()
            updated = Preferences.from_json(stored).updated(changes)
            conn.execute(update(users).where(users.c.id == int(user_id)).values(preferences=updated.to_json()))
        return updated

    def find(self, username: str) -> User | None:
        rows = self.db.query(select(users).where(users.c.username == username))
        return _row_to_user(rows[0]) if rows else None

    def authenticate(self, username: str, password: str) -> User | None:
        """The active user with these credentials, or None (in constant-ish time either way)."""
        rows = self.db.query(select(users).where(users.c.username == (username or "").strip()))
        stored = rows[0]["password_hash"] if rows else _dummy_hash()
        ok = check_password(stored, password or "")
        if not rows or not ok or not rows[0]["active"]:
            return None
        return _row_to_user(rows[0])

    def count(self) -> int:
        return self.db.query(select(func.count().label("n")).select_from(users))[0]["n"]

    def ensure_admin(self, username: str, password: str | None) -> str | None:
        """Create the first admin if no user of that name exists.

        Returns the generated password when one had to be made up (the caller prints it once),
        otherwise None. An existing admin is left alone: changing ADMIN_PASSWORD later does not
        silently reset a password someone may have changed.
        """
        if self.find(username):
            return None
        generated = None
        if not password:
            password = generated = secrets.token_urlsafe(12)
        try:
            self.create(username, password, role="admin")
        except UserError:
            if self.find(username):     # another web worker created it first: theirs stands
                return None
            raise
        return generated


def main(argv=None) -> int:
    """python -m services.security.users create USERNAME [--tenant T] [--role admin|analyst] | list [--tenant T]
    | passwd USERNAME

    How a new tenant gets its first admin (who then manages the rest on the Admin page), and how an
    admin who lost their password gets back in. Passwords are read from standard input (prompted
    on a terminal), never from the command line.
    """
    import argparse
    import getpass
    import sys

    from services.config import Config
    parser = argparse.ArgumentParser(prog="python -m services.security.users", description="Create or list Pulseboard users.")
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create", help="create a user (password read from stdin)")
    create.add_argument("username")
    create.add_argument("--tenant", default="default")
    create.add_argument("--role", choices=ROLES, default="analyst")
    listing = sub.add_parser("list", help="list a tenant's users")
    listing.add_argument("--tenant", default="default")
    passwd = sub.add_parser("passwd", help="set a user's password (read from stdin); their sessions end")
    passwd.add_argument("username")
    args = parser.parse_args(argv)
    store = UserStore(Database.from_config(Config.from_env()))
    if args.command == "list":
        for u in store.list(args.tenant):
            print(f"{u['id']:>4}  {u['username']}  {u['role']}  {'active' if u['active'] else 'disabled'}")
        return 0
    password = getpass.getpass("Password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    try:
        if args.command == "passwd":
            user = store.find(args.username)
            if user is None:
                raise UserError(f"no user {args.username!r}")
            store.set_password(user.id, password)
            print(f"Password of {user.username!r} changed; their sessions have ended.")
            return 0
        user = store.create(args.username, password, args.role, args.tenant)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"Created {user.role} {user.username!r} in tenant {user.tenant!r}.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
