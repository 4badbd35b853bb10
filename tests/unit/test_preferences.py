"""A user's preferences (services/security/preferences.py): defaults for anything not chosen or no longer
valid, and a clear error naming the field for a bad change."""
import pytest

from services.security.preferences import PreferenceError, Preferences


def test_defaults_and_what_is_stored_reads_back():
    assert Preferences.from_json(None) == Preferences() == Preferences("system", "critical")
    stored = Preferences("dark", "muted").to_json()
    assert Preferences.from_json(stored) == Preferences("dark", "muted")


@pytest.mark.parametrize("text", ["not json", "[1, 2]", '{"theme": "neon", "notify": 7}', '"dark"'])
def test_unreadable_or_outdated_values_read_as_the_defaults(text):
    assert Preferences.from_json(text) == Preferences()


def test_a_change_applies_only_what_it_names():
    assert Preferences().updated({"theme": "light"}) == Preferences("light", "critical")
    assert Preferences("dark").updated({"notify": "all"}) == Preferences("dark", "all")


@pytest.mark.parametrize("change, message", [
    ({}, "JSON object"), ([], "JSON object"), ({"colour": "red"}, "unknown preference 'colour'"),
    ({"theme": "neon"}, "theme must be one of system, light, dark"),
    ({"notify": "loud"}, "notify must be one of all, high, critical, muted")])
def test_a_bad_change_names_the_field(change, message):
    with pytest.raises(PreferenceError, match=message):
        Preferences().updated(change)
