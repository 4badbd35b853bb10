"""Fixtures of the distributed tests (every test in this folder is marked `distributed` by the root conftest,
from the folder). RedisServer, Worker, GUNICORN and the other plain helpers are in tests/helpers.py."""
import pytest

from helpers import RedisServer


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    """A throwaway redis-server for the module, on a free port."""
    srv = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield srv
    srv.stop()
