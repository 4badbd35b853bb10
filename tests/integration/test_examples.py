"""The Python client example in examples/, run against a real server as a user would (the JavaScript
example of docs/PROTOCOL.md runs in Chromium: browser/test_examples_browser.py).

It is run with `requests` and `websocket-client` made unimportable: they are test tools (requirements-dev.txt),
and the example has to work with what `pip install -r requirements.txt` installs."""
import subprocess
import sys

from helpers import ADMIN_PASSWORD, ROOT

ONLY_RUNTIME_PACKAGES = """
import runpy, sys
class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("requests", "websocket", "websockets"):
            raise ImportError(f"{name} is a test tool, not in requirements.txt")
sys.meta_path.insert(0, Refuse())
sys.argv = ["examples/ws_client.py", *sys.argv[1:]]
runpy.run_path("examples/ws_client.py", run_name="__main__")
"""


def run_example(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", ONLY_RUNTIME_PACKAGES, *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_the_python_client_example(server):
    out = run_example("--url", server.url, "--password", ADMIN_PASSWORD, "--seconds", "3")
    assert out.returncode == 0, out.stderr
    assert "connected as admin" in out.stdout and "kpi_update" in out.stdout
    assert "example-1 started 0%" in out.stdout and "example-1 completed 100%" in out.stdout
    assert '"p_negative"' in out.stdout


def test_the_python_client_example_with_an_api_key(server):
    key = server.session().post(server.url + "/api/v1/keys", json={"name": "example-script"}).json()["key"]
    out = run_example("--url", server.url, "--api-key", key, "--seconds", "2", "--calculation", "npv")
    assert out.returncode == 0, out.stderr
    assert "connected as api-key:example-script (analyst, tenant default)" in out.stdout
    assert "example-1 completed 100%" in out.stdout


def test_a_wrong_password_is_one_clear_line(server):
    out = run_example("--url", server.url, "--password", "not-the-password", "--seconds", "1")
    assert out.returncode != 0 and "login failed" in out.stderr and "Traceback" not in out.stderr
