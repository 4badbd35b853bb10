"""Configuration read from the environment, once, into an immutable object.

Every setting that is part of the product (HOST, PORT, SECRET_KEY, DATA_DIR, ADMIN_USERNAME,
ADMIN_PASSWORD, ALLOWED_ORIGINS, SIM_RATE, SIMULATOR) is read here and nowhere else, so the rest of
the code receives a `Config` and never touches `os.environ`. Tests build a Config directly.
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping


class ConfigError(ValueError):
    """A setting has a value we cannot use; the message names the variable."""


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


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    value = (env.get(name) or default).strip().lower()
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)} (got {env.get(name)!r})")
    return value


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
    # Pipeline tuning: a micro-batch closes after this many events or this many seconds.
    batch_max_events: int = 1000
    batch_max_wait: float = 0.05
    kpi_window_seconds: float = 300.0
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
    ws_ticket_seconds: float = 60.0      # lifetime of a POST /api/token ticket (at most 60 s)
    iot_rate_limit: float = 50_000.0   # events/s per API key on POST /api/v1/iot
    iot_max_body_kb: int = 4096
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

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Config":
        env = os.environ if env is None else env
        origins = tuple(o.strip().rstrip("/") for o in env.get("ALLOWED_ORIGINS", "").split(",") if o.strip())
        seed = env.get("SIM_SEED")
        return cls(
            host=env.get("HOST", "127.0.0.1") or "127.0.0.1",
            port=_number(env, "PORT", 8050, int, minimum=1),
            data_dir=Path(env.get("DATA_DIR") or "instance"),
            secret_key=env.get("SECRET_KEY") or None,
            admin_username=env.get("ADMIN_USERNAME") or "admin",
            admin_password=env.get("ADMIN_PASSWORD") or None,
            allowed_origins=origins,
            simulator=_flag(env, "SIMULATOR", True),
            sim_rate=_number(env, "SIM_RATE", 5.0, float, minimum=0.0),
            sim_anomaly_rate=_number(env, "SIM_ANOMALY_RATE", 0.03, float, minimum=0.0),
            sim_seed=int(seed) if seed not in (None, "") else None,
            sim_profile=_choice(env, "SIM_PROFILE", ("retail", "sensor", "mixed"), "retail"),
            market_feed=_flag(env, "MARKET_FEED", True),
            market_period=_number(env, "MARKET_PERIOD", 10.0, float, minimum=0.05),
            metrics_token=env.get("METRICS_TOKEN") or None,
            login_rate_limit_user=env.get("LOGIN_RATE_LIMIT_USER") or "5 per minute",
            login_rate_limit_ip=env.get("LOGIN_RATE_LIMIT_IP") or "20 per minute",
            https=(env.get("PREFERRED_URL_SCHEME") or "http").strip().lower() == "https",
            trust_proxy=_number(env, "TRUST_PROXY", 0, int, minimum=0),
            kpi_window_seconds=_number(env, "KPI_WINDOW_SECONDS", 300.0, float, minimum=1.0),
            ws_ping_interval=_number(env, "WS_PING_INTERVAL", 25.0, float, minimum=1.0),
            ws_max_per_user=_number(env, "WS_MAX_PER_USER", 10, int, minimum=1),
            ws_max_connections=_number(env, "WS_MAX_CONNECTIONS", 2000, int, minimum=1),
            ws_message_rate=_number(env, "WS_MESSAGE_RATE", 10.0, float, minimum=0.1),
            ws_subscribe_timeout=_number(env, "WS_SUBSCRIBE_TIMEOUT", 30.0, float, minimum=0.5),
            ws_session_check=_number(env, "WS_SESSION_CHECK", 10.0, float, minimum=0.2),
            ws_ticket_seconds=min(60.0, _number(env, "WS_TICKET_SECONDS", 60.0, float, minimum=1.0)),
            redis_url=env.get("REDIS_URL") or None,
            redis_prefix=env.get("REDIS_PREFIX") or "pulse:",
            redis_stream=env.get("REDIS_STREAM") or "pulse:events",
            redis_ingest_channel=env.get("REDIS_INGEST_CHANNEL") or "pulse:ingest",
            redis_dead_letter=env.get("REDIS_DEAD_LETTER") or "pulse:events:dead",
            redis_group=env.get("REDIS_GROUP") or "pulse-workers",
            stream_max_backlog=_number(env, "STREAM_MAX_BACKLOG", 1_000_000, int, minimum=1),
            idempotency_seconds=_number(env, "IDEMPOTENCY_SECONDS", 600.0, float, minimum=1.0),
            claim_idle_seconds=_number(env, "CLAIM_IDLE_SECONDS", 30.0, float, minimum=0.1),
            max_attempts=_number(env, "MAX_ATTEMPTS", 3, int, minimum=1),
            iot_rate_limit=_number(env, "IOT_RATE_LIMIT", 50_000.0, float, minimum=0.001),
            iot_max_body_kb=_number(env, "IOT_MAX_BODY_KB", 4096, int, minimum=1),
            max_upload_mb=_number(env, "MAX_UPLOAD_MB", 200.0, float, minimum=0.001),
            max_rows=_number(env, "MAX_ROWS", 3_000_000, int, minimum=1),
            max_columns=_number(env, "MAX_COLUMNS", 500, int, minimum=2),
        )

    @property
    def own_origins(self) -> tuple[str, ...]:
        """The origins the app is served from when ALLOWED_ORIGINS is unset."""
        hosts = {self.host}
        if self.host in {"127.0.0.1", "localhost", "0.0.0.0", "::"}:
            hosts |= {"127.0.0.1", "localhost"}
        return tuple(sorted(f"http://{h}:{self.port}" for h in hosts))


def load_or_create_secret_key(config: Config) -> str:
    """SECRET_KEY from the environment, else one generated once and kept in DATA_DIR.

    Persisting it means sessions survive a restart (the reconnecting dashboard keeps working).
    """
    if config.secret_key:
        return config.secret_key
    path = config.data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    config.data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its key
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
