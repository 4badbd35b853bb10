"""Short-lived, single-use tickets that let a non-browser client open `/ws` without a cookie.

`POST /api/token` (a logged-in session, or an `X-API-Key`) issues a random ticket valid for at most
60 s; the client connects to `/ws?ticket=...`, and the gate redeems it before the upgrade: a used,
expired or unknown ticket is a 401. Only the ticket's SHA-256 is kept (in this process, or in Redis
so that any web worker can redeem it, with GETDEL so it works once in the whole cluster), and
logging redacts `ticket=` values, so a ticket never appears in a log. A ticket from an API key
connects as that key (`KeyPrincipal`: its tenant, analyst rights, closed if the key is revoked).
"""
from __future__ import annotations

import json
import logging
import re
import secrets
import threading
import time
from dataclasses import dataclass

from services.security.passwords import secret_digest

TICKET_SECONDS = 60
_TICKET_IN_TEXT = re.compile(r"(ticket=)[^&\s\"']+")


@dataclass(frozen=True)
class KeyPrincipal:
    """Who is connected when a socket was opened with an API key's ticket."""
    prefix: str
    name: str
    tenant: str
    role: str = "analyst"
    active: bool = True
    is_admin: bool = False
    is_authenticated: bool = True

    @property
    def id(self) -> str:
        return f"key:{self.prefix}"

    @property
    def username(self) -> str:
        return f"api-key:{self.name}"


class MemoryTickets:
    """Embedded mode: tickets in this process (the only one that serves /ws)."""

    def __init__(self, seconds: float = TICKET_SECONDS):
        self.seconds = seconds
        self._lock = threading.Lock()
        self._tickets: dict[str, tuple[float, dict]] = {}

    def issue(self, owner: dict) -> str:
        ticket = secrets.token_urlsafe(32)
        now = time.monotonic()
        with self._lock:
            self._tickets = {d: v for d, v in self._tickets.items() if v[0] > now}    # drop expired ones
            self._tickets[secret_digest(ticket)] = (now + self.seconds, owner)
        return ticket

    def redeem(self, ticket: str) -> dict | None:
        with self._lock:
            entry = self._tickets.pop(secret_digest(ticket), None)
        return entry[1] if entry is not None and entry[0] > time.monotonic() else None


class RedisTickets:
    """Distributed mode: a ticket issued by one web worker can be redeemed, once, by any."""

    def __init__(self, client, keys, seconds: float = TICKET_SECONDS):
        self.client, self.keys, self.seconds = client, keys, seconds

    def issue(self, owner: dict) -> str:
        ticket = secrets.token_urlsafe(32)
        self.client.set(self.keys.ticket(secret_digest(ticket)), json.dumps(owner), ex=max(1, int(self.seconds)))
        return ticket

    def redeem(self, ticket: str) -> dict | None:
        raw = self.client.getdel(self.keys.ticket(secret_digest(ticket)))
        return json.loads(raw) if raw else None


class RedactTickets(logging.Filter):
    """Blank out `ticket=...` in every log line (request lines of any server or proxy logger)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "ticket=" in str(record.msg) or any("ticket=" in str(a) for a in (record.args or ())
                                               if isinstance(record.args, tuple)):
            record.msg = _TICKET_IN_TEXT.sub(r"\1[redacted]", record.getMessage())
            record.args = ()
        return True


def redact_tickets_in_logs() -> None:
    """Install the filter on the root logger's handlers (call once logging is configured)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactTickets) for f in handler.filters):
            handler.addFilter(RedactTickets())
