"""The client examples in examples/ and docs/PROTOCOL.md, run against a real server as a user would."""
import re
import subprocess
import sys

import pytest

from conftest import ADMIN_PASSWORD, ROOT, LiveServer


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("examples"), SIM_RATE=40).start()
    yield server
    server.stop()


def test_the_python_client_example(srv):
    out = subprocess.run([sys.executable, "examples/ws_client.py", "--url", srv.url, "--password", ADMIN_PASSWORD,
                          "--seconds", "3"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "connected as admin" in out.stdout and "kpi_update" in out.stdout
    assert "example-1 started 0%" in out.stdout and "example-1 completed 100%" in out.stdout
    assert '"p_negative"' in out.stdout


def test_the_python_client_example_with_an_api_key(srv):
    key = srv.session().post(srv.url + "/api/v1/keys", json={"name": "example-script"}).json()["key"]
    out = subprocess.run([sys.executable, "examples/ws_client.py", "--url", srv.url, "--api-key", key,
                          "--seconds", "2", "--calculation", "npv"], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert "connected as api-key:example-script (analyst, tenant default)" in out.stdout
    assert "example-1 completed 100%" in out.stdout


@pytest.mark.browser
def test_the_browser_javascript_example(srv):
    sync_api = pytest.importorskip("playwright.sync_api")
    from test_live_browser import CHROMIUM
    doc = (ROOT / "docs" / "PROTOCOL.md").read_text()
    code = re.search(r"<!-- js-example-start -->\s*```js\n(.*?)```", doc, re.S).group(1)
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu",
                                                             "--disable-background-networking"])
        page = b.new_page()
        page.goto(srv.url + "/login")
        page.fill("#username", "admin")
        page.fill("#password", ADMIN_PASSWORD)
        page.click("#login-submit")
        page.wait_for_url(srv.url + "/")
        seen = page.evaluate(code)
        b.close()
    assert seen["result"]["status"] == "completed" and seen["result"]["result"]["scenarios"] == 200_000
    assert seen["progress"][0] == "started 0%" and seen["progress"][-1] == "completed 100%"
