"""Financial calculators (pure numpy, no Dash): NPV, IRR, MIRR, XNPV/XIRR, PI, payback, ROI,
sensitivity and Monte Carlo. `calculate(kind, parameters)` is the one entry point the page, the
background jobs and the WebSocket `calculate` message share; docs/PROTOCOL.md lists every
parameter and result field.
"""
from __future__ import annotations

import time
from typing import Callable

import numpy as np

from services.finance import core, scenarios
from services.finance.montecarlo import Cancelled, monte_carlo
from services.finance.montecarlo import check as montecarlo_check
from services.finance.validate import FinanceError, count, dates, flows, number, rate

__all__ = ["calculate", "check_monte_carlo", "run_recorded", "still_running", "cancel_latest", "FinanceError",
           "Cancelled", "KINDS"]

CURVE_POINTS = 61
CANCELLED = "cancelled before it finished"
CANCELLED_LATE = "cancelled (the run had just finished; its result was discarded)"


def _npv(p: dict, progress, cancelled) -> dict:
    cash = flows(p.get("cash_flows"))
    r = rate(p.get("discount_rate"))
    if p.get("dates") is not None:             # XNPV: the flows are dated, the first at t=0, no separate investment
        days = dates(p["dates"], len(cash))
        return {"convention": "xnpv_actual_365", "npv": core.xnpv(r, cash, days),
                "irr": _irr_fields(core.irr_all(cash, days / 365.0))}
    investment = number(p.get("initial_investment", 0), "initial_investment")
    stream = np.concatenate([[-investment], cash])
    irr = core.irr_all(stream)
    simple, discounted = core.payback(stream), core.payback(stream, r)
    finance, reinvest = (rate(p.get(k, r), k) for k in ("finance_rate", "reinvest_rate"))
    rates = np.linspace(-0.5, max(1.0, 2 * abs(r)), CURVE_POINTS)
    return {
        "convention": "investment_at_t0_flows_at_period_end",
        "npv": core.npv(r, stream),
        "npv_spreadsheet": core.npv_spreadsheet(r, stream),
        "irr": _irr_fields(irr),
        "mirr": core.mirr(stream, finance, reinvest),
        "profitability_index": core.profitability_index(r, cash, investment),
        "payback_period": simple.period, "payback_stays_recovered": simple.stays_recovered,
        "discounted_payback_period": discounted.period,
        "curve": {"rates": rates.tolist(), "npv": core.npv_curve(stream, rates).tolist(), "zero_crossings": irr.roots},
    }


def _irr_fields(result: core.IrrResult) -> dict:
    return {"value": result.value, "roots": result.roots, "sign_changes": result.sign_changes,
            "warning": result.warning}


def _irr(p: dict, progress, cancelled) -> dict:
    cash = flows(p.get("cash_flows"), min_length=2)
    times = dates(p["dates"], len(cash)) / 365.0 if p.get("dates") is not None else None
    return {"convention": "xirr_actual_365" if times is not None else "first_flow_at_t0",
            **_irr_fields(core.irr_all(cash, times))}


def _mirr(p: dict, progress, cancelled) -> dict:
    cash = flows(p.get("cash_flows"), min_length=2)
    value = core.mirr(cash, rate(p.get("finance_rate"), "finance_rate"), rate(p.get("reinvest_rate"), "reinvest_rate"))
    return {"mirr": value, "warning": None if value is not None else
            "MIRR needs at least one negative and one positive cash flow."}


def _roi(p: dict, progress, cancelled) -> dict:
    return scenarios.roi(number(p.get("gain"), "gain"), number(p.get("cost"), "cost"), number(p.get("years"), "years"))


def _sensitivity(p: dict, progress, cancelled) -> dict:
    cash = flows(p.get("cash_flows"))
    r, investment = rate(p.get("discount_rate")), number(p.get("initial_investment", 0), "initial_investment")
    growth = number(p.get("growth", 0.0), "growth")
    rates = [rate(x, "rates") for x in p.get("rates") or np.linspace(max(-0.5, r - 0.05), r + 0.05, 5).tolist()]
    growths = [number(x, "growths") for x in p.get("growths") or [growth - 0.02, growth - 0.01, growth,
                                                                  growth + 0.01, growth + 0.02]]
    count(len(rates) * len(growths), "rates x growths", 10_000)
    return {"tornado": scenarios.tornado(r, cash, investment, growth, number(p.get("percent", 10), "percent")),
            "two_way": scenarios.two_way(cash, investment, rates, growths)}


def _monte_carlo_args(p: dict) -> tuple:
    cash = flows(p.get("cash_flows"))
    inputs = {k: p[k] for k in ("discount_rate", "initial_investment", "growth", "cash_flow_factor") if k in p}
    seed = p.get("seed")
    if seed is not None:
        seed = count(seed, "seed", 2**63 - 1, minimum=0)
    return cash, inputs, p.get("scenarios", 10_000), seed


def _monte_carlo(p: dict, progress, cancelled) -> dict:
    cash, inputs, scenarios, seed = _monte_carlo_args(p)
    return monte_carlo(cash, inputs, scenarios, seed, progress, cancelled)


def check_monte_carlo(parameters: dict) -> None:
    """Raise the FinanceError a Monte Carlo run would, without running it (the page checks before starting a job)."""
    cash, inputs, scenarios, _ = _monte_carlo_args(parameters)
    montecarlo_check(cash, inputs, scenarios)


KINDS: dict[str, Callable] = {"npv": _npv, "irr": _irr, "mirr": _mirr, "roi": _roi,
                              "sensitivity": _sensitivity, "monte_carlo": _monte_carlo}


def calculate(kind: str, parameters: dict, progress: Callable[[int, int], None] | None = None,
              cancelled: Callable[[], bool] | None = None) -> dict:
    """Run one calculation; raises FinanceError (bad input, with the field) or Cancelled."""
    if kind not in KINDS:
        raise FinanceError("calculation_type", f"calculation_type must be one of {', '.join(KINDS)}.")
    if not isinstance(parameters, dict):
        raise FinanceError("parameters", "parameters must be a JSON object.")
    return KINDS[kind](parameters, progress, cancelled)


def run_recorded(records, record_id: str, parameters: dict, report: Callable[[int, str], None],
                 cancelled: Callable[[], bool] | None = None, form: dict | None = None) -> dict:
    """A page's Monte Carlo job: run it, report progress to the page (`report(percent, message)`) and
    to its record (services.storage.calc_records, at most 4 writes a second), and store how it ended.

    `cancelled()` is asked between chunks: the page cancels by marking the record, which reaches a job
    its own framework can no longer stop (the page was left and opened again). The stored result
    carries the `parameters` and the `form` as typed that produced it, so whoever shows it later can
    say what it is the result of (and refill the form with it)."""
    last = [0.0]

    def progress(done: int, total: int) -> None:
        pct, message = int(100 * done / total), f"{done:,} of {total:,} scenarios"
        report(pct, message)
        if time.monotonic() - last[0] >= 0.25:
            last[0] = time.monotonic()
            records.progress(record_id, pct, message)

    try:
        result = calculate("monte_carlo", parameters, progress, cancelled)
    except Cancelled:
        raise                       # whoever cancelled has marked the record already
    except FinanceError as exc:
        records.fail(record_id, exc.message)
        raise
    except Exception as exc:
        records.fail(record_id, f"The calculation failed: {type(exc).__name__}.")
        raise
    result = {**result, "parameters": parameters, "form": form}
    records.complete(record_id, result)
    return result


def still_running(records, user_id: int, kind: str, record_id: str) -> bool:
    """Whether a job should carry on: its record is the user's latest and still running (not cancelled,
    not read as dead, not replaced by a newer run)."""
    latest = records.latest(user_id, kind)
    return bool(latest and latest["id"] == record_id and latest["status"] == "running")


def cancel_latest(records, user_id: int, kind: str, result_shown: bool) -> None:
    """Cancel wins. The user's running record is marked cancelled (its job stops at its next chunk if
    nothing killed it already). A run that completed a moment before the click, while the page still
    showed it running (`result_shown` False), is covered by a newer cancelled record: the latest record
    is what every page shows, so its result is never shown, now or on a later visit."""
    latest = records.latest(user_id, kind)
    if latest and latest["status"] == "running":
        records.fail(latest["id"], CANCELLED, status="cancelled")
        latest = records.latest(user_id, kind)
    if latest and latest["status"] == "completed" and not result_shown:
        records.fail(records.start(user_id, kind), CANCELLED_LATE, status="cancelled")
