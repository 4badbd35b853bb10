#!/usr/bin/env bash
# Installs everything the tests need on a fresh Debian/Ubuntu machine, then runs them.
#   - OS packages when missing: chromium + chromium-driver (browser tests), redis-server, postgresql
#     (initdb + pg_ctl: a throwaway cluster per test session; the system service is not used), iproute2
#     (`ip netns`: the two-host test runs its hosts in network namespaces when run as root)
#   - a virtualenv in .venv with requirements-dev.txt
# Extra arguments go to pytest (e.g. `bash tests/run.sh -k websocket`).
# Tests live by kind in tests/unit, tests/integration, tests/browser and tests/distributed; each test is
# marked with its folder's name (tests/conftest.py), so select a kind with -m or a folder by path:
#   bash tests/run.sh -m "not browser"     # no Chromium needed
#   bash tests/run.sh -m distributed       # redis-server, gunicorn and worker processes
#   bash tests/run.sh tests/unit           # pure logic, seconds
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium chromium-driver)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)   # throwaway clusters for the store tests
command -v ip >/dev/null 2>&1 || need+=(iproute2)       # network namespaces for the two-host test (as root)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing OS packages: ${need[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt

# Browsers want a writable HOME and TMPDIR; keep them inside a throwaway folder.
export PULSEBOARD_TEST_HOME="$(mktemp -d)"
export HOME="$PULSEBOARD_TEST_HOME" TMPDIR="$PULSEBOARD_TEST_HOME"
trap 'rm -rf "$PULSEBOARD_TEST_HOME"' EXIT
.venv/bin/python -m pytest "$@"
