"""The Python client example in examples/, run against a real server as a user would (the JavaScript
example of docs/PROTOCOL.md runs in Chromium: browser/test_examples_browser.py)."""
import subprocess
import sys

import pytest

from helpers import ADMIN_PASSWORD, ROOT, LiveServer


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
