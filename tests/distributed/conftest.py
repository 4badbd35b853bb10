"""Fixtures of the distributed tests (every test in this folder is marked `distributed` by the root conftest,
from the folder). RedisServer, Worker, GUNICORN and the other plain helpers are in tests/helpers.py."""
import pytest
import redis

from helpers import RedisServer


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    """A throwaway redis-server for the module, on a free port."""
    srv = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield srv
    srv.stop()


@pytest.fixture
def r(redis_server):
    """A client of the module's redis-server, emptied (FLUSHALL) for each test."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    return client
