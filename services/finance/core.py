"""Discounted cash flow: NPV (both timing conventions), XNPV, IRR (every root), XIRR, MIRR, PI, payback.

Conventions, stated once:
- `npv(rate, flows)`: flows[0] is at t=0 (not discounted), flows[i] at the end of period i. This is
  numpy-financial's npv. For [-1000, 300, 400, 500] at 10 %: -21.04.
- `npv_spreadsheet(rate, flows)`: Excel's/Sheets' NPV(): the first value is discounted one period
  too (flows[i] at the end of period i+1). Same flows: -19.12 (= -21.04 / 1.1).
- `npv_investment(rate, cash_flows, investment)`: the investment is paid at t=0 and cash_flows[i]
  arrives at the end of period i+1: npv(rate, [-investment, *cash_flows]).
- XNPV / XIRR: dated flows, the first date is t=0, exponent = days since it / 365 (actual/365).

IRR is found on the NPV curve rather than with np.roots (numpy-financial's way): the curve is
evaluated on a grid of rates above -100 %, every sign change is bisected, so flows with several
sign changes report every IRR (and which one is closest to 0, numpy-financial's choice), and a
1,000-period stream does not need the eigenvalues of a 1,000x1,000 matrix.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Rates where the NPV curve is sampled: dense near 0, sparse far out; -99.99 % to +10,000 %.
GRID = np.unique(np.concatenate([np.linspace(-0.9999, -0.5, 200), np.linspace(-0.5, 1.0, 1500),
                                 np.geomspace(1.0, 100.0, 300)]))


def discount(rate, times: np.ndarray) -> np.ndarray:
    """(1 + rate) ** -times, for a scalar rate or an array of rates (rates x times)."""
    r = np.asarray(rate, dtype=float)
    return np.exp(-np.multiply.outer(np.log1p(r), times))


def npv(rate: float, flows: np.ndarray) -> float:
    return float(discount(rate, np.arange(len(flows))) @ flows)


def npv_spreadsheet(rate: float, flows: np.ndarray) -> float:
    return float(discount(rate, np.arange(1, len(flows) + 1)) @ flows)


def npv_investment(rate: float, cash_flows: np.ndarray, investment: float) -> float:
    return npv(rate, np.concatenate([[-investment], cash_flows]))


def xnpv(rate: float, flows: np.ndarray, days: np.ndarray) -> float:
    return float(discount(rate, days / 365.0) @ flows)


def npv_curve(flows: np.ndarray, rates: np.ndarray, times: np.ndarray | None = None) -> np.ndarray:
    times = np.arange(len(flows)) if times is None else times
    return discount(rates, times) @ flows


def sign_changes(flows: np.ndarray) -> int:
    signs = np.sign(flows[flows != 0])
    return int((signs[1:] != signs[:-1]).sum())


@dataclass
class IrrResult:
    value: float | None          # the IRR closest to 0 (numpy-financial's choice), None if there is none
    roots: list[float]           # every IRR found, ascending
    sign_changes: int

    @property
    def warning(self) -> str | None:
        if self.value is None:
            if self.sign_changes == 0:
                return "No IRR: the cash flows never change sign, so no rate makes the NPV zero."
            return "No IRR: no rate above -100 % makes the NPV zero."
        if len(self.roots) > 1:
            shown = ", ".join(f"{r:.2%}" for r in self.roots)
            return (f"The cash flows change sign {self.sign_changes} times and several rates give NPV = 0 "
                    f"({shown}): IRR is ambiguous here; prefer NPV or MIRR.")
        if self.sign_changes > 1:
            return (f"The cash flows change sign {self.sign_changes} times; only one IRR was found, "
                    "but read it with care (prefer NPV or MIRR).")
        return None


def irr_all(flows: np.ndarray, times: np.ndarray | None = None) -> IrrResult:
    """Every rate in (-100 %, 10,000 %] where the NPV crosses zero, refined by bisection."""
    times = np.arange(len(flows)) if times is None else times
    changes = sign_changes(flows)
    if changes == 0:
        return IrrResult(None, [], 0)
    with np.errstate(over="ignore", invalid="ignore"):
        values = npv_curve(flows, GRID, times)
    finite = np.isfinite(values)
    roots = [float(GRID[i]) for i in np.flatnonzero(finite & (values == 0))]
    lo_idx = np.flatnonzero(finite[:-1] & finite[1:] & (np.sign(values[:-1]) * np.sign(values[1:]) < 0))
    if len(lo_idx):
        lo, hi = GRID[lo_idx].copy(), GRID[lo_idx + 1].copy()
        f_lo = values[lo_idx]
        for _ in range(80):                  # vectorised bisection: every bracket at once
            mid = (lo + hi) / 2
            f_mid = discount(mid, times) @ flows
            left = np.sign(f_mid) == np.sign(f_lo)
            lo, f_lo = np.where(left, mid, lo), np.where(left, f_mid, f_lo)
            hi = np.where(left, hi, mid)
        roots += [float(x) for x in (lo + hi) / 2]
    merged: list[float] = []
    for r in sorted(roots):
        if not merged or r - merged[-1] > 1e-9:
            merged.append(r + 0.0)                              # + 0.0: no "-0.0"
    roots = merged
    value = min(roots, key=abs) if roots else None
    return IrrResult(value, roots, changes)


def mirr(flows: np.ndarray, finance_rate: float, reinvest_rate: float) -> float | None:
    """Modified IRR: negative flows financed at `finance_rate`, positive ones reinvested at
    `reinvest_rate` (same as numpy-financial and spreadsheets). None without both signs."""
    n = len(flows)
    positive, negative = np.where(flows > 0, flows, 0), np.where(flows < 0, flows, 0)
    if not positive.any() or not negative.any():
        return None
    future = float(discount(reinvest_rate, -(n - 1 - np.arange(n))) @ positive)
    present = float(discount(finance_rate, np.arange(n)) @ negative)
    return (future / -present) ** (1.0 / (n - 1)) - 1


def profitability_index(rate: float, cash_flows: np.ndarray, investment: float) -> float | None:
    """PV of the future cash flows / the investment paid at t=0 (> 1: worth doing)."""
    if investment <= 0:
        return None
    return npv_spreadsheet(rate, cash_flows) / investment


@dataclass
class Payback:
    period: float | None     # fractional period when the cumulative flow first reaches 0; None if never
    stays_recovered: bool    # False if it goes negative again later (e.g. a decommissioning cost)


def payback(flows: np.ndarray, rate: float | None = None) -> Payback:
    """Simple payback, or discounted payback with `rate`. flows[0] is at t=0; interpolated within a period."""
    values = flows if rate is None else flows * discount(rate, np.arange(len(flows)))
    cumulative = np.cumsum(values)
    if cumulative[0] >= 0:
        return Payback(0.0, bool((cumulative >= 0).all()))
    hits = np.flatnonzero(cumulative >= 0)
    if not len(hits):
        return Payback(None, False)
    t = int(hits[0])
    fraction = -cumulative[t - 1] / values[t] if values[t] else 0.0
    return Payback(t - 1 + fraction, bool((cumulative[t:] >= 0).all()))
