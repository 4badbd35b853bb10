"""Every environment variable the code reads is documented in the README's configuration table."""
import re
from pathlib import Path

from services.config import ENV_SETTINGS, Config

ROOT = Path(__file__).resolve().parents[2]


def documented() -> set[str]:
    return set(re.findall(r"^\| `([A-Z_]+)` \|", (ROOT / "README.md").read_text(), re.M))


def test_every_setting_is_a_config_field_and_in_the_readme():
    names = {name for name, _, _ in ENV_SETTINGS}
    assert {field for _, field, _ in ENV_SETTINGS} <= set(Config.__dataclass_fields__)
    assert names - documented() == set()


def test_gunicorn_variables_are_in_the_readme_too():
    read = set(re.findall(r"os\.environ\.get\(\s*[\"']([A-Z_]+)", (ROOT / "gunicorn.conf.py").read_text()))
    assert read and read - documented() == set()
