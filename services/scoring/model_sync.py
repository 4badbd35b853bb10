"""One model for every worker: trained by one at a time, stored in Redis, loaded by all.

A worker that wants a refit takes `model:lock` (SET NX with an expiry, released only by its
holder); if another worker published a model less than `min_age` seconds ago it loads that one
instead of fitting again, so M workers do not fit M times. A published model gets the next
number from `model:version`; the others notice within `poll` seconds and swap it in.

The blob is a pickle (sklearn models have no other portable form), so it is signed with an
HMAC of SECRET_KEY and refused unless the signature matches: write access to Redis alone must
not let anyone run code in the workers. It also carries the trainer's per-entity baselines, which
a worker that has none yet (just started) adopts so its z-scores are meaningful at once.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import pickle
import secrets
import time
from contextlib import contextmanager
from dataclasses import replace

import redis

from services.redis_keys import RedisKeys

log = logging.getLogger(__name__)
MAGIC = b"PBM1"
RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


class ModelSync:
    def __init__(self, client: redis.Redis, keys: RedisKeys, secret: str | bytes, poll: float = 2.0,
                 lock_seconds: float = 300.0, name: str = "retail"):
        self.name = name
        self.redis = client
        self.keys = keys
        self.secret = secret.encode() if isinstance(secret, str) else secret
        self.poll = poll
        self.lock_ms = int(lock_seconds * 1000)
        self._release = client.register_script(RELEASE)
        self.rejected_blobs = 0
        self._rejected: bytes | None = None     # digest of the blob last refused (logged once per blob)
        self._bad_meta: bytes | None = None     # the unreadable metadata last warned about

    def _sign(self, body: bytes) -> bytes:
        return hmac.new(self.secret, body, hashlib.sha256).digest()

    def meta(self) -> dict:
        """The stored model's metadata; {"version": 0} (no model) if there is none or it is unreadable."""
        raw = self.redis.get(self.keys.model_meta(self.name))
        if not raw:
            return {"version": 0}
        meta = parse_meta(raw)
        if meta is None:
            if raw != self._bad_meta:
                self._bad_meta = raw
                log.warning("ignoring the %s model metadata in Redis (%s): not the JSON Pulseboard writes; "
                            "treated as no model until a worker publishes one", self.name,
                            self.keys.model_meta(self.name))
            return {"version": 0}
        return meta

    def publish(self, models, baselines: dict, worker: str) -> int:
        """Store `models` as the next version; returns its number."""
        version = int(self.redis.incr(self.keys.model_seq(self.name)))
        models = replace(models, version=version)
        body = pickle.dumps((models, baselines), protocol=pickle.HIGHEST_PROTOCOL)
        meta = {"version": version, "fitted_at": models.fitted_at, "fitted_on": models.fitted_on,
                "worker": worker, "bytes": len(body)}
        pipe = self.redis.pipeline(transaction=True)
        pipe.set(self.keys.model(self.name), MAGIC + self._sign(body) + body)
        pipe.set(self.keys.model_meta(self.name), json.dumps(meta))
        pipe.execute()
        log.info("published %s models v%d (%d rows, %.1f MB)", self.name, version, models.fitted_on, len(body) / 2**20)
        return version

    def load(self):
        """(models, baselines) of the stored version, or None if there is none or it is not ours."""
        blob = self.redis.get(self.keys.model(self.name))
        if not blob:
            return None
        body = blob[len(MAGIC) + 32:]
        if not blob.startswith(MAGIC) or not hmac.compare_digest(blob[len(MAGIC):len(MAGIC) + 32], self._sign(body)):
            digest = hashlib.sha256(blob).digest()
            if digest != self._rejected:     # once per blob, not every poll
                self._rejected = digest
                self.rejected_blobs += 1
                log.error("refusing the %s model blob in Redis: bad signature (another SECRET_KEY, or "
                          "tampered); keeping the model in use until a verified one is published", self.name)
            return None
        return pickle.loads(body)

    @contextmanager
    def training_lock(self):
        """Yields True if this process may train now (and holds the lock until the block ends)."""
        token = secrets.token_hex(8)
        got = bool(self.redis.set(self.keys.model_lock(self.name), token, nx=True, px=self.lock_ms))
        try:
            yield got
        finally:
            if got:
                try:
                    self._release(keys=[self.keys.model_lock(self.name)], args=[token])
                except redis.RedisError:
                    pass   # it expires by itself

    def recently_published(self, min_age: float) -> bool:
        return time.time() - float(self.meta().get("fitted_at") or 0) < min_age


def parse_meta(raw: bytes | str) -> dict | None:
    """Model metadata as `publish` writes it (an object with an integer version, a numeric fitted_at), or None."""
    try:
        meta = json.loads(raw)
        if not isinstance(meta, dict) or isinstance(meta.get("version"), bool):
            return None
        meta["version"] = int(meta.get("version") or 0)
        meta["fitted_at"] = float(meta.get("fitted_at") or 0)
    except (ValueError, TypeError, OverflowError):
        return None
    return meta
