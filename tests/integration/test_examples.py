"""The Python client example in examples/, run against a real server as a user would (the JavaScript
example of docs/PROTOCOL.md runs in Chromium: browser/test_examples_browser.py)."""
import subprocess
import sys

from helpers import ADMIN_PASSWORD, ROOT


def test_the_python_client_example(server):
    out = subprocess.run([sys.executable, "examples/ws_client.py", "--url", server.url, "--password", ADMIN_PASSWORD,
                          "--seconds", "3"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "connected as admin" in out.stdout and "kpi_update" in out.stdout
    assert "example-1 started 0%" in out.stdout and "example-1 completed 100%" in out.stdout
    assert '"p_negative"' in out.stdout


def test_the_python_client_example_with_an_api_key(server):
    key = server.session().post(server.url + "/api/v1/keys", json={"name": "example-script"}).json()["key"]
    out = subprocess.run([sys.executable, "examples/ws_client.py", "--url", server.url, "--api-key", key,
                          "--seconds", "2", "--calculation", "npv"], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert "connected as api-key:example-script (analyst, tenant default)" in out.stdout
    assert "example-1 completed 100%" in out.stdout
