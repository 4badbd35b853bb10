"""What the finance pages say: validation messages name the box people see (its label, never the parameter
behind it), the profitability-index hint follows the value, and result text comes from components.formats."""
import pytest

from components import finance_cards, formats
from services.finance import FinanceError, calculate
from services.finance.forms import MONTE_CARLO_LABELS, monte_carlo_parameters, number, percent, positive, whole

FORM = {"flows": "150000\n150000", "rate_mean": 8, "rate_std": 2, "inv_low": 800_000, "inv_mode": 950_000,
        "inv_high": 1_300_000, "growth_low": -2, "growth_high": 4, "factor_std": 15, "scenarios": 1000, "seed": 42}


def message(form_change: dict) -> str:
    with pytest.raises(FinanceError) as info:
        monte_carlo_parameters({**FORM, **form_change})
    return info.value.message


def test_the_monte_carlo_form_becomes_parameters():
    p = monte_carlo_parameters(FORM)
    assert p["cash_flows"] == [150000.0, 150000.0] and p["scenarios"] == 1000 and p["seed"] == 42
    assert p["discount_rate"] == {"dist": "normal", "mean": 0.08, "std": 0.02}
    assert p["growth"] == {"dist": "uniform", "low": -0.02, "high": 0.04}
    assert monte_carlo_parameters({**FORM, "seed": None})["seed"] is None        # empty: a random seed
    assert calculate("monte_carlo", p)["scenarios"] == 1000


@pytest.mark.parametrize("change, expected", [
    ({"rate_mean": -150}, "Discount rate mean must be between -99\u00a0% and 1,000\u00a0% (got -150\u00a0%)."),
    ({"rate_mean": None}, "Discount rate mean is empty: enter a percentage."),
    ({"rate_std": -1}, "Discount rate std must be between 0\u00a0% and 100\u00a0% (got -1\u00a0%)."),
    ({"scenarios": 2_000_000}, "Scenarios must be a whole number between 1 and 1,000,000 (got 2,000,000)."),
    ({"scenarios": 10.5}, "Scenarios must be a whole number between 1 and 1,000,000 (got 10.5)."),
    ({"seed": -1}, "Seed must be a whole number between 0 and 9,223,372,036,854,775,807 (got -1)."),
    ({"inv_mode": 2_000_000}, "Investment low must be below Investment high, with Investment most likely between "
                              "them (got 800,000, 2,000,000, 1,300,000)."),
    ({"growth_low": 5}, "Growth low must be below Growth high."),
    ({"inv_high": "abc"}, "Investment high must be a number."),
    ({"flows": ""}, "Base cash flows: paste a column of numbers (one per line)."),
    ({"flows": "100\nabc"}, "Base cash flows, line 2: 'abc' is not a number."),
])
def test_monte_carlo_messages_use_the_field_labels(change, expected):
    text = message(change)
    assert text == expected
    assert not any(name in text for name in ("discount_rate", "initial_investment", "cash_flow", ".mean", ".std"))


def test_every_monte_carlo_label_starts_with_a_capital():
    assert all(label[0].isupper() for label in MONTE_CARLO_LABELS.values())


def test_calculator_fields_are_named_by_their_labels():
    with pytest.raises(FinanceError, match=r"^Discount rate must be between -99\u00a0% and 1,000\u00a0%"):
        percent(-150, "Discount rate", -99, 1000)
    with pytest.raises(FinanceError, match=r"^Cost must be above 0 \(ROI divides by it\) \(got 0\)\.$"):
        positive(0, "Cost", " (ROI divides by it)")
    with pytest.raises(FinanceError, match=r"^Total gain is empty: enter a number\.$"):
        number(None, "Total gain")
    assert whole(3.0, "Years", 1, 10) == 3 and percent(10, "Discount rate") == pytest.approx(0.1)


@pytest.mark.parametrize("value, hint", [
    (1.25, "above 1: worth doing (returns more than it costs)"),
    (1.0, "exactly 1: breaks even"),
    (0.9996, "exactly 1: breaks even"),                 # shown as 1.000: the hint agrees with the card
    (0.5, "below 1: not worth doing (returns less than it costs)"),
    (0.0, "below 1: not worth doing (returns less than it costs)"),
    (-0.42, "negative: not worth doing (the cash flows lose money too)"),
    (None, "needs an investment above 0"),
])
def test_the_profitability_index_hint_follows_the_value(value, hint):
    assert finance_cards.pi_hint(value) == hint


def test_a_negative_pi_from_the_npv_calculation_is_not_called_worth_doing():
    r = calculate("npv", {"cash_flows": [-100, -200], "discount_rate": 0.1, "initial_investment": 1000})
    assert r["profitability_index"] < 0
    assert finance_cards.pi_hint(r["profitability_index"]).startswith("negative: not worth doing")


def test_cards_format_through_components_formats():
    assert finance_cards.money is formats.money and finance_cards.pct is formats.percent
    assert finance_cards.periods(2.5) == "2.5\u00a0periods" and finance_cards.periods(None) == "never"
    r = calculate("npv", {"cash_flows": [300, 400, 500], "discount_rate": 0.1, "initial_investment": 1000})
    values = {c.children.children[1].to_plotly_json()["props"]["data-testid"]: c.children.children[1].children
              for c in finance_cards.npv_cards(r, "t0")}
    assert values["npv"] == "-21.04" and values["irr"].endswith("\u00a0%") and " " not in values["irr"]
    assert all(" " not in v for v in values.values())         # no breakable space inside a value


def test_a_monte_carlo_result_names_its_inputs():
    text = finance_cards.monte_carlo_inputs(monte_carlo_parameters(FORM))
    assert text.startswith("2 cash flows of 150,000, discount rate 8.00\u00a0% ± 2.00\u00a0%")
    assert "investment 800,000 / 950,000 / 1,300,000" in text and text.endswith("1,000 scenarios, seed 42")
    mixed = finance_cards.monte_carlo_inputs(monte_carlo_parameters({**FORM, "flows": "1\n3", "seed": ""}))
    assert mixed.startswith("2 cash flows from 1 to 3") and mixed.endswith("a random seed")
