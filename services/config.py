"""Configuration read from the environment, once, into an immutable object.

Every setting that is part of the product (HOST, PORT, SECRET_KEY, DATA_DIR, ADMIN_USERNAME,
ADMIN_PASSWORD, ALLOWED_ORIGINS, SIM_RATE, SIMULATOR) is read here and nowhere else, so the rest of
the code receives a `Config` and never touches `os.environ`. Tests build a Config directly.
`ENV_SETTINGS` lists every variable with its field and parser; each default is written once, on
the `Config` field.
"""
from __future__ import annotations

import fcntl
import logging
import os
import secrets
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Callable, Mapping

log = logging.getLogger(__name__)


class ConfigError(ValueError):
    """A setting has a value we cannot use; the message names the variable."""


# Parsers: (env, variable name, the Config field's default) -> value; an unset or empty variable
# gives the default, which is written once, on the Config field.

def _text(env: Mapping[str, str], name: str, default):
    return env.get(name) or default


def _path(env: Mapping[str, str], name: str, default: Path) -> Path:
    raw = env.get(name)
    return Path(raw) if raw else default


def _origins(env: Mapping[str, str], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    raw = env.get(name)
    return tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip()) if raw else default


def _seed(env: Mapping[str, str], name: str, default: int | None) -> int | None:
    raw = env.get(name)
    return int(raw) if raw not in (None, "") else default


def _https(env: Mapping[str, str], name: str, default: bool) -> bool:
    """PREFERRED_URL_SCHEME: https or http."""
    raw = env.get(name)
    return raw.strip().lower() == "https" if raw else default


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be one of on/off, true/false, 1/0 (got {raw!r})")


def _number(env: Mapping[str, str], name: str, default, kind=float, minimum=None):
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a {kind.__name__} (got {raw!r})") from None
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name} must be >= {minimum} (got {raw!r})")
    return value


def _int(minimum: int) -> Callable:
    return lambda env, name, default: _number(env, name, default, int, minimum)


def _float(minimum: float, cap: float | None = None) -> Callable:
    """A float of at least `minimum`; a value above `cap` is lowered to it."""
    def parse(env, name, default):
        value = _number(env, name, default, float, minimum)
        return value if cap is None else min(cap, value)
    return parse


def _choice(*choices: str) -> Callable:
    def parse(env, name, default):
        value = (env.get(name) or default).strip().lower()
        if value not in choices:
            raise ConfigError(f"{name} must be one of {', '.join(choices)} (got {env.get(name)!r})")
        return value
    return parse


MAX_TICKET_SECONDS = 60.0      # a WebSocket ticket never lives longer than this


@dataclass(frozen=True)
class Config:
    """Everything the server needs to start. Build it with `Config.from_env()`."""

    host: str = "127.0.0.1"
    port: int = 8050
    data_dir: Path = Path("instance")
    secret_key: str | None = None
    admin_username: str = "admin"
    admin_password: str | None = None
    allowed_origins: tuple[str, ...] = ()
    simulator: bool = True
    sim_rate: float = 5.0
    sim_anomaly_rate: float = 0.03
    sim_seed: int | None = None
    sim_profile: str = "retail"      # retail, sensor or mixed
    market_feed: bool = True         # the simulated market-data feed (services.simulation.market)
    market_period: float = 10.0      # seconds between market updates
    metrics_token: str | None = None  # Bearer token a Prometheus scraper sends to GET /metrics
    login_rate_limit_user: str = "5 per minute"    # failed sign-ins per username
    login_rate_limit_ip: str = "20 per minute"     # failed sign-ins per client address
    https: bool = False              # PREFERRED_URL_SCHEME=https: Secure cookies (HSTS is sent on HTTPS requests)
    trust_proxy: int = 0             # proxies in front whose X-Forwarded-* headers are believed
    session_idle_hours: float = 12.0   # a session unused this long ends (services.security.sessions)
    session_max_days: float = 7.0      # a session ends this long after sign-in, used or not
    # Pipeline tuning: a micro-batch closes after this many events or this many seconds.
    batch_max_events: int = 1000
    batch_max_wait: float = 0.05
    kpi_window_seconds: float = 300.0
    history: bool = True                 # keep every scored event (services/history)
    history_raw_hours: float = 48.0      # raw events kept this long
    history_days: float = 400.0          # per-minute and per-hour rollups kept this long
    history_writer: str = "auto"         # embedded: "process" (a child process writes), "thread", or "auto"
    # WebSocket fan-out: at most one frame per `ws_frame_interval` seconds per connection.
    ws_frame_interval: float = 0.1
    ws_max_points_per_frame: int = 50
    ws_ping_interval: float = 25.0
    ws_max_message_bytes: int = 64 * 1024
    ws_max_per_user: int = 10            # open sockets per user (per web process)
    ws_max_connections: int = 2000       # open sockets per web process
    ws_message_rate: float = 10.0        # client messages per second per socket (bursts of twice that)
    ws_subscribe_timeout: float = 30.0   # a socket that subscribes to nothing this long is closed
    ws_session_check: float = 10.0       # seconds between re-checks that the socket's user may still be in
    ws_ticket_seconds: float = MAX_TICKET_SECONDS   # lifetime of a POST /api/token ticket (at most 60 s)
    iot_rate_limit: float = 50_000.0   # events/s per API key on POST /api/v1/iot
    iot_max_body_kb: int = 4096
    database_url: str | None = None  # PostgreSQL (postgresql+psycopg://...); unset: SQLite in DATA_DIR
    redis_url: str | None = None     # distributed mode: hub, ingest stream and shared state on Redis
    # Redis key names (services.redis_keys); documented in docs/PROTOCOL.md section 4.
    redis_prefix: str = "pulse:"
    redis_stream: str = "pulse:events"
    redis_ingest_channel: str = "pulse:ingest"
    redis_dead_letter: str = "pulse:events:dead"
    redis_group: str = "pulse-workers"
    stream_max_backlog: int = 1_000_000       # unprocessed events the stream may hold before producers get 503
    idempotency_seconds: float = 600.0        # event ids remembered for de-duplication (at least this long)
    claim_idle_seconds: float = 30.0          # a worker's unacknowledged events are taken over after this
    max_attempts: int = 3                     # deliveries of an event the model fails on before dead-lettering
    dead_letter_maxlen: int = 100_000
    # Offline analysis upload limits (services.analysis.Limits)
    max_upload_mb: float = 200.0
    max_rows: int = 3_000_000
    max_columns: int = 500
    # A background calculation whose record has not reported for this long reads as failed (its worker died)
    calc_stale_seconds: float = 30.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Config":
        env = os.environ if env is None else env
        defaults = {f.name: f.default for f in fields(cls)}
        return cls(**{field: parse(env, name, defaults[field]) for name, field, parse in ENV_SETTINGS})

    @property
    def own_origins(self) -> tuple[str, ...]:
        """The origins the app is served from when ALLOWED_ORIGINS is unset."""
        hosts = {self.host}
        if self.host in {"127.0.0.1", "localhost", "0.0.0.0", "::"}:
            hosts |= {"127.0.0.1", "localhost"}
        return tuple(sorted(f"http://{h}:{self.port}" for h in hosts))


# Every environment variable Config.from_env reads: (variable, Config field, parser). Fields not
# listed (batch sizes, frame pacing, message and dead-letter caps) are not settable from the environment.
ENV_SETTINGS: tuple[tuple[str, str, Callable], ...] = (
    ("HOST", "host", _text),
    ("PORT", "port", _int(1)),
    ("DATA_DIR", "data_dir", _path),
    ("SECRET_KEY", "secret_key", _text),
    ("ADMIN_USERNAME", "admin_username", _text),
    ("ADMIN_PASSWORD", "admin_password", _text),
    ("ALLOWED_ORIGINS", "allowed_origins", _origins),
    ("SIMULATOR", "simulator", _flag),
    ("SIM_RATE", "sim_rate", _float(0.0)),
    ("SIM_ANOMALY_RATE", "sim_anomaly_rate", _float(0.0)),
    ("SIM_SEED", "sim_seed", _seed),
    ("SIM_PROFILE", "sim_profile", _choice("retail", "sensor", "mixed")),
    ("MARKET_FEED", "market_feed", _flag),
    ("MARKET_PERIOD", "market_period", _float(0.05)),
    ("METRICS_TOKEN", "metrics_token", _text),
    ("LOGIN_RATE_LIMIT_USER", "login_rate_limit_user", _text),
    ("LOGIN_RATE_LIMIT_IP", "login_rate_limit_ip", _text),
    ("PREFERRED_URL_SCHEME", "https", _https),
    ("TRUST_PROXY", "trust_proxy", _int(0)),
    ("SESSION_IDLE_HOURS", "session_idle_hours", _float(0.0001)),
    ("SESSION_MAX_DAYS", "session_max_days", _float(0.0001)),
    ("KPI_WINDOW_SECONDS", "kpi_window_seconds", _float(1.0)),
    ("HISTORY", "history", _flag),
    ("HISTORY_RAW_HOURS", "history_raw_hours", _float(0.01)),
    ("HISTORY_DAYS", "history_days", _float(0.01)),
    ("HISTORY_WRITER", "history_writer", _choice("auto", "process", "thread")),
    ("WS_PING_INTERVAL", "ws_ping_interval", _float(1.0)),
    ("WS_MAX_PER_USER", "ws_max_per_user", _int(1)),
    ("WS_MAX_CONNECTIONS", "ws_max_connections", _int(1)),
    ("WS_MESSAGE_RATE", "ws_message_rate", _float(0.1)),
    ("WS_SUBSCRIBE_TIMEOUT", "ws_subscribe_timeout", _float(0.5)),
    ("WS_SESSION_CHECK", "ws_session_check", _float(0.2)),
    ("WS_TICKET_SECONDS", "ws_ticket_seconds", _float(1.0, cap=MAX_TICKET_SECONDS)),
    ("DATABASE_URL", "database_url", _text),
    ("REDIS_URL", "redis_url", _text),
    ("REDIS_PREFIX", "redis_prefix", _text),
    ("REDIS_STREAM", "redis_stream", _text),
    ("REDIS_INGEST_CHANNEL", "redis_ingest_channel", _text),
    ("REDIS_DEAD_LETTER", "redis_dead_letter", _text),
    ("REDIS_GROUP", "redis_group", _text),
    ("STREAM_MAX_BACKLOG", "stream_max_backlog", _int(1)),
    ("IDEMPOTENCY_SECONDS", "idempotency_seconds", _float(1.0)),
    ("CLAIM_IDLE_SECONDS", "claim_idle_seconds", _float(0.1)),
    ("MAX_ATTEMPTS", "max_attempts", _int(1)),
    ("IOT_RATE_LIMIT", "iot_rate_limit", _float(0.001)),
    ("IOT_MAX_BODY_KB", "iot_max_body_kb", _int(1)),
    ("MAX_UPLOAD_MB", "max_upload_mb", _float(0.001)),
    ("MAX_ROWS", "max_rows", _int(1)),
    ("MAX_COLUMNS", "max_columns", _int(2)),
    ("CALC_STALE_SECONDS", "calc_stale_seconds", _float(2.0)),
)


def load_or_create_secret_key(config: Config) -> str:
    """SECRET_KEY from the environment, else one generated once and kept in DATA_DIR (one host; with
    DATABASE_URL every host reads the key from the database instead: services/storage/secret_key.py).

    Persisting it means sessions survive a restart (the reconnecting dashboard keeps working). A key
    file that is empty or not a readable key (not UTF-8, control bytes) is replaced by a new key with a
    WARNING naming the file: sessions signed with the old key end and users sign in again. Processes
    sharing DATA_DIR take a lock on the file, so they all end up with the same key.
    """
    if config.secret_key:
        return config.secret_key
    path = config.data_dir / "secret_key"
    config.data_dir.mkdir(parents=True, exist_ok=True)
    existed = path.exists()
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    with os.fdopen(fd, "r+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)     # released when the file closes
        raw = handle.read()
        key = usable_key(raw)
        if key:
            return key
        if existed and raw:
            log.warning("%s is not a readable secret key (%d bytes of garbage): replaced it with a new one; "
                        "existing sessions end and users sign in again", path, len(raw))
        elif existed:
            log.warning("%s is empty: wrote a new secret key; existing sessions end and users sign in again", path)
        key = secrets.token_hex(32)
        handle.seek(0)
        handle.truncate()
        handle.write(key.encode())
        handle.flush()
        os.fsync(handle.fileno())
    return key


def usable_key(raw: bytes) -> str | None:
    try:
        key = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        return None
    return key if key and key.isprintable() else None
