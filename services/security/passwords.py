"""Hashing what must never be stored as given: passwords (scrypt) and bearer secrets (SHA-256).

Passwords: scrypt from the standard library, in the `scrypt:N:r:p$salt$hex` form.

The form is the one Werkzeug writes, so hashes stored by earlier releases keep verifying, but the
security layer does not depend on the web framework for it (Flask lives only in services/web).
`pbkdf2:` hashes from Werkzeug's older default verify too.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import string

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
SALT_CHARS = string.ascii_letters + string.digits
SALT_LENGTH = 16


def hash_password(password: str) -> str:
    salt = "".join(secrets.choice(SALT_CHARS) for _ in range(SALT_LENGTH))
    return f"scrypt:{SCRYPT_N}:{SCRYPT_R}:{SCRYPT_P}${salt}${_scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)}"


def check_password(stored: str, password: str) -> bool:
    """Constant-time comparison; a malformed stored hash never matches (and never raises)."""
    if not isinstance(stored, str) or not isinstance(password, str):
        return False
    try:
        method, salt, expected = stored.split("$", 2)
        name, *args = method.split(":")
        if name == "scrypt":
            n, r, p = (int(a) for a in args) if args else (SCRYPT_N, SCRYPT_R, SCRYPT_P)
            actual = _scrypt(password, salt, n, r, p)
        elif name == "pbkdf2":
            digest = args[0] if args else "sha256"
            iterations = int(args[1]) if len(args) > 1 else 600_000
            actual = hashlib.pbkdf2_hmac(digest, password.encode(), salt.encode(), iterations).hex()
        else:
            return False
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def secret_digest(secret: str) -> str:
    """How API keys, WebSocket tickets and session tokens are stored and looked up: their SHA-256.
    They are long random values, so a fast unsalted hash is enough, and lookups stay one index hit."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _scrypt(password: str, salt: str, n: int, r: int, p: int) -> str:
    return hashlib.scrypt(password.encode(), salt=salt.encode(), n=n, r=r, p=p, maxmem=132 * n * r * p).hex()
