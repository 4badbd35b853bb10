"""Fixtures of the browser tests: a headless Chromium driven through Playwright.

Every test in this folder is marked `browser` (by the root conftest, from the folder), so
`-m "not browser"` leaves them all out. Plain helpers (logged_in_page, wait_for, status, CHROMIUM)
are in tests/helpers.py.
"""
import os

import pytest

from helpers import CHROMIUM


@pytest.fixture
def browser(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    os.environ.setdefault("HOME", str(tmp_path))
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run",
            "--js-flags=--expose-gc"])          # gc() for tests that collect garbage at a chosen moment
        yield b
        b.close()

