"""The `system` channel carrying every System figure in distributed mode (a throwaway redis-server, the
web process and its worker)."""
from helpers import LiveServer, RedisServer, bad_post_then_system_update, check_figures


def test_system_channel_carries_every_figure_distributed(tmp_path):
    redis_srv = RedisServer(tmp_path / "redis").start()
    server = LiveServer(tmp_path / "data", REDIS_URL=redis_srv.url, SIM_RATE=40)
    try:
        server.start(timeout=60)
        stats = bad_post_then_system_update(server)
        check_figures(stats)
        assert stats["mode"] == "distributed" and stats["redis"]["status"] == "ok"
        assert stats["background_cache"]["kind"] == "celery" and "queued_tasks" in stats["background_cache"]
        assert {p["role"] for p in stats["processes"].values()} == {"web", "worker"}
        assert any(reason.startswith("weekly_sales:") for reason in stats["rejected"])
        assert stats["ingest_lag_basis"] == "oldest unacknowledged stream entry" and "stream" in stats
    finally:
        server.stop()
        redis_srv.stop()
