"""The JavaScript client example of docs/PROTOCOL.md, run in a real headless Chromium against a real server
(the Python example: integration/test_examples.py)."""
import re

import pytest

from helpers import ADMIN_PASSWORD, ROOT, LiveServer


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("examples"), SIM_RATE=40).start()
    yield server
    server.stop()


def test_the_browser_javascript_example(browser, srv):
    doc = (ROOT / "docs" / "PROTOCOL.md").read_text()
    code = re.search(r"<!-- js-example-start -->\s*```js\n(.*?)```", doc, re.S).group(1)
    page = browser.new_page()
    page.goto(srv.url + "/login")
    page.fill("#username", "admin")
    page.fill("#password", ADMIN_PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(srv.url + "/")
    seen = page.evaluate(code)
    assert seen["result"]["status"] == "completed" and seen["result"]["result"]["scenarios"] == 200_000
    assert seen["progress"][0] == "started 0%" and seen["progress"][-1] == "completed 100%"
