"""Monte Carlo NPV: up to 1,000,000 scenarios, vectorised, reproducible with a seed, with progress.

Uncertain inputs of the NPV model (investment at t=0, cash_flows[i] at the end of period i+1,
grown by `growth` per period) each get a distribution: {"dist": "normal", "mean", "std"},
{"dist": "triangular", "low", "mode", "high"}, {"dist": "uniform", "low", "high"}, or a plain
number (certain). `cash_flow_factor` scales every cash flow of a scenario (1 = as entered).

Scenarios run in chunks of CHUNK: memory stays flat (CHUNK x periods), `progress(done, total)` is
called after each chunk (the page's progress bar, the WebSocket's calculation_update), and
`cancelled()` is checked between chunks. Draws come from one generator in a fixed order, so a
seed gives the same result whatever the machine.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from services.finance.validate import MAX_SCENARIOS, FinanceError, count, number

CHUNK = 50_000
INPUTS = ("discount_rate", "initial_investment", "growth", "cash_flow_factor")
DEFAULTS = {"growth": 0.0, "cash_flow_factor": 1.0}
HISTOGRAM_BINS = 50


class Cancelled(Exception):
    """The caller asked to stop between chunks."""


def _distribution(spec, field: str):
    """A sampler (rng, n) -> array for a number or a distribution spec, checked up front."""
    if not isinstance(spec, dict):
        value = number(spec, field)
        return lambda rng, n: np.full(n, value)
    kind = spec.get("dist")
    if kind == "normal":
        mean, std = number(spec.get("mean"), f"{field}.mean"), number(spec.get("std"), f"{field}.std")
        if std < 0:
            raise FinanceError(field, f"{field}.std must be >= 0.")
        return lambda rng, n: rng.normal(mean, std, n)
    if kind == "triangular":
        low, mode, high = (number(spec.get(k), f"{field}.{k}") for k in ("low", "mode", "high"))
        if not low <= mode <= high or low == high:
            raise FinanceError(field, f"{field} needs low <= mode <= high and low < high.")
        return lambda rng, n: rng.triangular(low, mode, high, n)
    if kind == "uniform":
        low, high = number(spec.get("low"), f"{field}.low"), number(spec.get("high"), f"{field}.high")
        if not low < high:
            raise FinanceError(field, f"{field} needs low < high.")
        return lambda rng, n: rng.uniform(low, high, n)
    raise FinanceError(field, f"{field}: dist must be normal, triangular or uniform (got {str(kind)[:20]!r}).")


def check(cash_flows: np.ndarray, inputs: dict, scenarios: int) -> None:
    """Every input problem monte_carlo() would raise, found without running anything."""
    count(scenarios, "scenarios", MAX_SCENARIOS)
    unknown = set(inputs) - set(INPUTS)
    if unknown:
        raise FinanceError(sorted(unknown)[0], f"unknown input(s) {', '.join(sorted(unknown))}; known: {', '.join(INPUTS)}.")
    if "discount_rate" not in inputs or "initial_investment" not in inputs:
        raise FinanceError("discount_rate", "discount_rate and initial_investment are required (numbers or distributions).")
    for name in INPUTS:
        _distribution(inputs.get(name, DEFAULTS.get(name)), name)


def monte_carlo(cash_flows: np.ndarray, inputs: dict, scenarios: int = 10_000, seed: int | None = None,
                progress: Callable[[int, int], None] | None = None,
                cancelled: Callable[[], bool] | None = None) -> dict:
    check(cash_flows, inputs, scenarios)
    total = int(scenarios)
    samplers = {name: _distribution(inputs.get(name, DEFAULTS.get(name)), name) for name in INPUTS}
    rng = np.random.default_rng(seed)
    t = np.arange(1, len(cash_flows) + 1, dtype=float)
    npvs = np.empty(total)
    invalid = 0
    for start in range(0, total, CHUNK):
        if cancelled is not None and cancelled():
            raise Cancelled()
        n = min(CHUNK, total - start)
        draw = {name: samplers[name](rng, n) for name in INPUTS}
        rate = draw["discount_rate"]
        bad = rate <= -1
        invalid += int(bad.sum())
        rate = np.where(bad, np.nan, rate)
        growth = (1 + draw["growth"])[:, None] ** (t - 1)
        flows = draw["cash_flow_factor"][:, None] * cash_flows[None, :] * growth
        with np.errstate(invalid="ignore"):
            npvs[start:start + n] = -draw["initial_investment"] + (flows * np.exp(-np.log1p(rate)[:, None] * t)).sum(axis=1)
        if progress is not None:
            progress(start + n, total)
    valid = npvs[np.isfinite(npvs)]
    if not len(valid):
        raise FinanceError("discount_rate", "every drawn discount rate was at or below -100 %.")
    p5, p50, p95 = np.percentile(valid, [5, 50, 95])
    counts, edges = np.histogram(valid, bins=HISTOGRAM_BINS)
    return {"scenarios": total, "seed": seed, "valid": int(len(valid)), "dropped_rate_below_minus_100": invalid,
            "expected_npv": float(valid.mean()), "std_npv": float(valid.std()),
            "p_negative": float((valid < 0).mean()), "p5": float(p5), "p50": float(p50), "p95": float(p95),
            "histogram": {"counts": counts.tolist(), "edges": [float(e) for e in edges]},
            "min": float(valid.min()), "max": float(valid.max()), "periods": len(cash_flows),
            "chunks": math.ceil(total / CHUNK)}
