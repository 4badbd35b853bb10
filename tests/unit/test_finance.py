"""Financial calculators against numpy-financial and hand-checked spreadsheet results."""
import numpy as np
import numpy_financial as npf
import pytest

from services.finance import Cancelled, FinanceError, calculate
from services.finance import core
from services.finance.montecarlo import monte_carlo

FLOWS = [-1000, 300, 400, 500]


def test_npv_in_both_timing_conventions():
    r = calculate("npv", {"cash_flows": FLOWS[1:], "discount_rate": 0.1, "initial_investment": 1000})
    assert r["npv"] == pytest.approx(-21.04, abs=0.005)                 # first flow at t=0
    assert r["npv_spreadsheet"] == pytest.approx(-19.12, abs=0.005)     # Excel's NPV() over the same row
    assert r["npv"] == pytest.approx(npf.npv(0.1, FLOWS))
    assert r["profitability_index"] == pytest.approx(978.96 / 1000, abs=1e-4)


@pytest.mark.parametrize("flows", [[-100, 39, 59, 55, 20], [-100, 0, 0, 74], [-100, 100, 0, 7],
                                   [-5000, 1200, 1400, 1600, 1800, 2000], [-1, 0.2] * 1 + [0.3] * 20])
def test_irr_matches_numpy_financial(flows):
    r = calculate("irr", {"cash_flows": flows})
    assert r["value"] == pytest.approx(npf.irr(flows), abs=1e-9)
    assert r["warning"] is None


def test_several_irrs_are_all_reported_with_a_warning():
    r = calculate("irr", {"cash_flows": [-1000, 6000, -11000, 6000]})
    assert r["roots"] == pytest.approx([0.0, 1.0, 2.0], abs=1e-9) and r["sign_changes"] == 3
    assert r["value"] == pytest.approx(npf.irr([-1000, 6000, -11000, 6000]), abs=1e-9)
    assert "ambiguous" in r["warning"]


def test_when_there_is_no_irr_it_says_so():
    none = calculate("irr", {"cash_flows": [100, -50, 100]})            # NPV > 0 at every rate
    assert none["value"] is None and "no rate" in none["warning"].lower()
    same_sign = calculate("irr", {"cash_flows": [100, 50]})
    assert same_sign["value"] is None and "never change sign" in same_sign["warning"]


def test_mirr_matches_numpy_financial():
    flows = [-4500, -800, 800, 800, 600, 600, 800, 800, 700, 3000]
    r = calculate("mirr", {"cash_flows": flows, "finance_rate": 0.08, "reinvest_rate": 0.055})
    assert r["mirr"] == pytest.approx(npf.mirr(flows, 0.08, 0.055))
    assert calculate("mirr", {"cash_flows": [1, 2], "finance_rate": 0.1, "reinvest_rate": 0.1})["mirr"] is None


def test_xnpv_and_xirr_match_the_spreadsheet_example():
    # The XNPV/XIRR examples of the spreadsheet documentation: 2,086.65 and 37.34 %.
    flows, dates = [-10000, 2750, 4250, 3250, 2750], ["2008-01-01", "2008-03-01", "2008-10-30", "2009-02-15",
                                                      "2009-04-01"]
    assert calculate("npv", {"cash_flows": flows, "discount_rate": 0.09, "dates": dates})["npv"] == \
        pytest.approx(2086.65, abs=0.005)
    assert calculate("irr", {"cash_flows": flows, "dates": dates})["value"] == pytest.approx(0.373362535, abs=1e-7)


@pytest.mark.parametrize("flows, period, stays", [
    ([-100, 50, 50], 2.0, True),                  # exactly at a period boundary
    ([-100, 30, 30, 30], None, False),            # never
    ([-100, 60, 60, -50], 100 / 60, False),       # recovered, then a closing cost takes it negative again
    ([0, 10], 0.0, True),
    ([-100, 40, 80], 1.75, True),
])
def test_payback_edge_cases(flows, period, stays):
    p = core.payback(np.array(flows, float))
    assert (p.period is None and period is None) or p.period == pytest.approx(period)
    assert p.stays_recovered == stays


def test_discounted_payback_is_later_than_simple():
    r = calculate("npv", {"cash_flows": [400, 400, 400, 400], "discount_rate": 0.1, "initial_investment": 1000})
    assert r["payback_period"] == pytest.approx(2.5) and r["discounted_payback_period"] > 2.5


def test_roi_and_annualised_roi():
    r = calculate("roi", {"gain": 1500, "cost": 1000, "years": 2})
    assert r["roi"] == pytest.approx(0.5) and r["annualized_roi"] == pytest.approx(1.5 ** 0.5 - 1)


@pytest.mark.parametrize("kind, params, field", [
    ("npv", {"cash_flows": [1, 2], "discount_rate": -1.0}, "discount_rate"),
    ("npv", {"cash_flows": [1, float("nan")], "discount_rate": 0.1}, "cash_flows[1]"),
    ("npv", {"cash_flows": [], "discount_rate": 0.1}, "cash_flows"),
    ("npv", {"cash_flows": [1.0] * 1002, "discount_rate": 0.1}, "cash_flows"),
    ("irr", {"cash_flows": [1, 2], "dates": ["2020-01-01", "nope"]}, "dates"),
    ("irr", {"cash_flows": [1, 2], "dates": ["2020-01-02", "2020-01-01"]}, "dates"),
    ("monte_carlo", {"cash_flows": [1], "discount_rate": 0.1, "initial_investment": 1, "scenarios": 1_000_001},
     "scenarios"),
    ("monte_carlo", {"cash_flows": [1], "discount_rate": {"dist": "lognormal"}, "initial_investment": 1},
     "discount_rate"),
    ("roi", {"gain": 1, "cost": 0, "years": 1}, "cost"),
    ("pricing", {}, "calculation_type"),
])
def test_bad_inputs_name_the_field(kind, params, field):
    with pytest.raises(FinanceError) as info:
        calculate(kind, params)
    assert info.value.field == field and info.value.message


MC = {"cash_flows": [100.0] * 10, "discount_rate": {"dist": "normal", "mean": 0.08, "std": 0.02},
      "initial_investment": {"dist": "triangular", "low": 500, "mode": 600, "high": 800},
      "growth": {"dist": "uniform", "low": -0.02, "high": 0.03}, "scenarios": 120_000, "seed": 7}


def test_monte_carlo_is_reproducible_and_reports_percentiles():
    a, b = calculate("monte_carlo", MC), calculate("monte_carlo", MC)
    assert a == b
    assert calculate("monte_carlo", dict(MC, seed=8))["expected_npv"] != a["expected_npv"]
    assert a["p5"] < a["p50"] < a["p95"] and 0 < a["p_negative"] < 1
    assert sum(a["histogram"]["counts"]) == a["valid"] == 120_000


def test_monte_carlo_with_certain_inputs_is_the_plain_npv():
    r = calculate("monte_carlo", {"cash_flows": [100.0] * 5, "discount_rate": 0.1, "initial_investment": 300,
                                  "scenarios": 1000})
    expected = npf.npv(0.1, [-300] + [100] * 5)
    assert r["p5"] == pytest.approx(expected) and r["p95"] == pytest.approx(expected) and r["std_npv"] < 1e-9


def test_monte_carlo_reports_progress_and_can_be_cancelled():
    seen = []
    monte_carlo(np.ones(5), {"discount_rate": 0.1, "initial_investment": 1}, 120_000, 1,
                progress=lambda done, total: seen.append((done, total)))
    assert seen == [(50_000, 120_000), (100_000, 120_000), (120_000, 120_000)]
    with pytest.raises(Cancelled):
        monte_carlo(np.ones(5), {"discount_rate": 0.1, "initial_investment": 1}, 120_000, 1,
                    cancelled=lambda: True)


def test_sensitivity_tornado_and_two_way_table():
    r = calculate("sensitivity", {"cash_flows": [300, 400, 500], "discount_rate": 0.1, "initial_investment": 1000,
                                  "growth": 0.02, "percent": 20, "rates": [0.08, 0.1, 0.12], "growths": [0, 0.02]})
    bars = r["tornado"]["bars"]
    assert [b["swing"] for b in bars] == sorted((b["swing"] for b in bars), reverse=True)
    assert bars[0]["input"] in ("cash_flows", "initial_investment")
    table = r["two_way"]["npv"]
    assert len(table) == 3 and len(table[0]) == 2
    assert table[1][1] == pytest.approx(r["tornado"]["base_npv"])
    assert table[1][0] == pytest.approx(npf.npv(0.1, FLOWS))


def test_a_long_stream_still_finds_its_irr():
    flows = [-10_000.0] + [12.0] * 1000
    r = calculate("irr", {"cash_flows": flows})
    assert abs(core.npv(r["value"], np.array(flows))) < 1e-6
