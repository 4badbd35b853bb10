"""The `system` channel carrying every System figure in embedded mode, over a real WebSocket (pure logic:
unit/test_system_stats.py; distributed mode: distributed/test_system_distributed.py; the System and Stream
log pages in Chromium: browser/test_system_pages_browser.py)."""

from helpers import bad_post_then_system_update, check_figures


def test_system_channel_carries_every_figure_embedded(server):
    stats = bad_post_then_system_update(server)
    check_figures(stats)
    assert stats["mode"] == "embedded" and stats["redis"]["status"] == "not used"
    assert [count for reason, count in stats["rejected"].items() if reason.startswith("weekly_sales:")] == [1]
    assert stats["rejected"]["duplicate"] == 1 and stats["rejected_requests"]["invalid_json"] == 1
    assert stats["rejected_total"] >= 2 and stats["connections"] >= 1
    assert stats["events_out_per_s"] > 0 and stats["background_cache"]["kind"] == "diskcache"
    assert len(stats["processes"]) == 1 and next(iter(stats["processes"].values()))["role"] == "embedded"
    metrics = server.session().get(server.url + "/metrics").text
    assert "pulse_events_in_per_second" in metrics and 'pulse_events_rejected_total{reason="duplicate"} 1.0' in metrics
