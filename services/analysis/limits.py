"""Upload limits; the server takes them from its Config (MAX_UPLOAD_MB, MAX_ROWS, MAX_COLUMNS)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 200 * 1024 * 1024
    max_rows: int = 3_000_000
    max_columns: int = 500

    @classmethod
    def from_config(cls, config) -> "Limits":
        """From services.config.Config (MAX_UPLOAD_MB, MAX_ROWS, MAX_COLUMNS)."""
        return cls(int(config.max_upload_mb * 2**20), config.max_rows, config.max_columns)

    @property
    def max_mb(self) -> float:
        return self.max_bytes / 2**20
