"""ROI, the AI-adoption template, and sensitivity (tornado and rate x growth table).

ROI = (gain - cost) / cost, where `gain` is everything the investment returned; annualised ROI =
(1 + ROI) ** (1 / years) - 1. The AI-adoption template turns an investment, the yearly benefit at
full adoption, an adoption ramp (share of the benefit reached each year) and yearly running costs
into the cash flows the NPV calculator takes.

Sensitivity works on the NPV model "investment at t=0, cash_flows[i] at the end of period i+1,
grown by `growth` per period": each input is moved by +/- a percentage of its value and the NPV
recomputed; the tornado sorts the inputs by the size of the swing. Moves are relative, so an input
that is 0 (no growth, say) cannot move and shows no swing.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from services.finance.core import discount
from services.finance.validate import FinanceError


def roi(gain: float, cost: float, years: float) -> dict:
    if cost <= 0:
        raise FinanceError("cost", "cost must be above 0 (ROI divides by it).")
    if years <= 0:
        raise FinanceError("years", "years must be above 0.")
    value = (gain - cost) / cost
    annualised = (1 + value) ** (1 / years) - 1 if value > -1 else -1.0
    return {"roi": value, "annualized_roi": annualised, "net_gain": gain - cost}


def ai_adoption_flows(yearly_benefit: float, ramp: list[float], running_cost: float = 0.0) -> np.ndarray:
    """Yearly cash flows: benefit x adoption share - running cost, one per ramp entry."""
    shares = np.asarray(ramp, dtype=float)
    if shares.size == 0 or (shares < 0).any() or (shares > 1.5).any():
        raise FinanceError("ramp", "the adoption ramp is a list of shares between 0 and 1.5 (1 = full adoption).")
    return yearly_benefit * shares - running_cost


def npv_model(rate: float, cash_flows: np.ndarray, investment: float, growth: float = 0.0) -> float:
    t = np.arange(1, len(cash_flows) + 1)
    return float(-investment + (cash_flows * (1 + growth) ** (t - 1)) @ discount(rate, t))


@dataclass
class TornadoBar:
    input: str
    low: float          # NPV with the input lowered by the percentage
    high: float         # NPV with the input raised
    swing: float


def tornado(rate: float, cash_flows: np.ndarray, investment: float, growth: float = 0.0,
            percent: float = 10.0) -> dict:
    if not 0 < percent < 100:
        raise FinanceError("percent", "percent must be between 0 and 100.")
    f = percent / 100
    base = npv_model(rate, cash_flows, investment, growth)
    moves = {
        "discount_rate": lambda s: npv_model(rate * (1 + s * f), cash_flows, investment, growth),
        "initial_investment": lambda s: npv_model(rate, cash_flows, investment * (1 + s * f), growth),
        "cash_flows": lambda s: npv_model(rate, cash_flows * (1 + s * f), investment, growth),
        "growth": lambda s: npv_model(rate, cash_flows, investment, growth * (1 + s * f)),
    }
    bars = [TornadoBar(name, move(-1), move(+1), abs(move(+1) - move(-1))) for name, move in moves.items()]
    bars.sort(key=lambda b: b.swing, reverse=True)
    return {"base_npv": base, "percent": percent, "bars": [b.__dict__ for b in bars]}


def two_way(cash_flows: np.ndarray, investment: float, rates: list[float], growths: list[float]) -> dict:
    """NPV for every (rate, growth) pair: rows are rates, columns growths (vectorised)."""
    r = np.asarray(rates, float)[:, None, None]
    g = np.asarray(growths, float)[None, :, None]
    t = np.arange(1, len(cash_flows) + 1)[None, None, :]
    table = -investment + (cash_flows * (1 + g) ** (t - 1) * (1 + r) ** -t).sum(axis=2)
    return {"rates": list(map(float, rates)), "growths": list(map(float, growths)), "npv": table.tolist()}
