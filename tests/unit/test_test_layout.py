"""The test tree stays collectable as one run: each module's basename is unique (pytest imports
them by basename) and none imports a conftest (which one it gets depends on what ran first)."""
import re
from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_module_basenames_are_unique():
    names = Counter(p.name for p in TESTS.rglob("test_*.py"))
    assert [n for n, c in names.items() if c > 1] == []


def test_no_module_imports_a_conftest_or_another_test_module():
    pattern = re.compile(r"^\s*(from|import)\s+(conftest|test_\w+)\b", re.M)
    offenders = [str(p.relative_to(TESTS)) for p in TESTS.rglob("*.py") if pattern.search(p.read_text())]
    assert offenders == []
