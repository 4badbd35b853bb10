"""The one exception type for bad input, carrying what an API or a page needs to explain it."""
from __future__ import annotations


class AnalysisError(Exception):
    """Input we cannot analyse. `status`: 400 malformed, 413 too large, 415 not a CSV, 422 unusable data."""

    def __init__(self, code: str, message: str, status: int = 422, lines: list[int] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.lines = lines or []

    def to_dict(self) -> dict:
        out = {"error": self.message, "code": self.code}
        if self.lines:
            out["lines"] = self.lines
        return out


def first_lines(lines, limit: int = 5) -> str:
    """'lines 3, 7, 9 and 4 more' for messages."""
    lines = list(lines)
    shown = ", ".join(str(n) for n in lines[:limit])
    more = f" and {len(lines) - limit} more" if len(lines) > limit else ""
    return f"line{'s' if len(lines) > 1 else ''} {shown}{more}"
