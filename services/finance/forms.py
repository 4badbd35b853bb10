"""From what people type on the calculator pages to calculation parameters (percent -> fraction,
table rows -> cash flows, a pasted spreadsheet column -> numbers), with errors naming the input."""
from __future__ import annotations

import re

from services.finance.validate import FinanceError

NUMBER = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$|^[+-]?\.\d+$")


def percent(value, field: str) -> float:
    """A percentage typed as 10 or 10.5 -> 0.10 / 0.105."""
    if value is None or value == "":
        raise FinanceError(field, f"Enter {field.replace('_', ' ')} (a percentage).")
    try:
        return float(value) / 100.0
    except (TypeError, ValueError):
        raise FinanceError(field, f"{field.replace('_', ' ')} must be a number.") from None


def parse_number(text, field: str) -> float:
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(text)
    raw = str(text or "").strip().replace(" ", "").replace("\u00a0", "")
    negative = raw.startswith("(") and raw.endswith(")")       # accounting style (1,000)
    raw = raw.strip("()").lstrip("$€£")
    if not NUMBER.match(raw):
        raise FinanceError(field, f"{field}: {str(text)[:30]!r} is not a number.")
    value = float(raw.replace(",", ""))
    return -value if negative else value


def pasted_column(text: str) -> list[float]:
    """Numbers from a column copied out of a spreadsheet (one per line; tabs/semicolons split too)."""
    cells = [c for c in re.split(r"[\r\n\t;]+", text or "") if c.strip()]
    if not cells:
        raise FinanceError("paste", "Paste a column of numbers (one per line).")
    if len(cells) > 1000:
        raise FinanceError("paste", f"{len(cells):,} values pasted; at most 1,000 periods are allowed.")
    return [parse_number(c, f"line {i + 1}") for i, c in enumerate(cells)]


def table_flows(rows: list[dict]) -> tuple[list[float], list[str] | None]:
    """(cash flows, dates or None) from the editable table: every row needs a cash flow; dates are
    used (XNPV/XIRR) only when every row has one."""
    flows, dates = [], []
    for i, row in enumerate(rows or []):
        flows.append(parse_number(row.get("cash_flow"), f"period {i + 1} cash flow"))
        dates.append(str(row.get("date") or "").strip())
    if not flows:
        raise FinanceError("cash_flows", "Add at least one period with a cash flow.")
    return flows, dates if all(dates) else None
