"""Upload limits, configurable from the environment (MAX_UPLOAD_MB, MAX_ROWS, MAX_COLUMNS)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 200 * 1024 * 1024
    max_rows: int = 3_000_000
    max_columns: int = 500

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Limits":
        env = os.environ if env is None else env
        default = cls()
        return cls(max_bytes=int(float(env.get("MAX_UPLOAD_MB") or default.max_bytes / 2**20) * 2**20),
                   max_rows=int(env.get("MAX_ROWS") or default.max_rows),
                   max_columns=int(env.get("MAX_COLUMNS") or default.max_columns))

    @property
    def max_mb(self) -> float:
        return round(self.max_bytes / 2**20, 1)
