"""The System figures (services/cluster/system_stats.py), the `system` channel carrying every one of them in
both modes, and the System and Stream log pages in a real Chromium."""
import json
import time
import uuid
from datetime import datetime, timezone

import pytest
import requests

from conftest import LiveServer, RedisServer, recv_until
from services.security.apikeys import ApiKeyStore
from services.pipeline.batch import PipelineStats
from services.cluster.reports import processes
from services.storage.db import Database
from services.ingest.queue import IngestQueue
from services.cluster.system_stats import DiskcacheStats, ProcessSampler, RateMeter, RejectCounter, merge_rejected
from test_live_browser import browser, logged_in_page, status, wait_for  # noqa: F401  (browser is a fixture)

NUMBER = (int, float)
# every figure of the System page: key -> type (docs/PROTOCOL.md, system_update)
FIGURES = {
    "mode": str, "connections": int, "connections_by_channel": dict, "processes": dict,
    "events_in_per_s": NUMBER, "events_out_per_s": NUMBER, "rate_window_s": NUMBER,
    "ingest_lag_s": NUMBER, "ingest_lag_basis": str,
    "last_score_ms": NUMBER, "avg_score_ms": NUMBER, "last_score_ms_per_event": NUMBER,
    "avg_score_ms_per_event": NUMBER, "queue_depth": int, "queue_capacity": int,
    "frames_sent": int, "messages_merged": int, "points_coalesced": int, "resyncs": int,
    "rejected": dict, "rejected_total": int, "rejected_requests": dict,
    "redis": dict, "background_cache": dict, "memory_rss_bytes": int, "cpu_percent": NUMBER,
}


# -- unit: the stats module ----------------------------------------------------------------------
def test_rate_meter_reports_per_second_rates_over_its_window():
    now = [0.0]
    meter = RateMeter(window=5.0, clock=lambda: now[0])
    assert meter.update(events_in=0, events_out=0) == {"events_in_per_s": 0.0, "events_out_per_s": 0.0}
    for second in range(1, 11):
        now[0] = float(second)
        rates = meter.update(events_in=100 * second, events_out=90 * second)
    assert rates == {"events_in_per_s": 100.0, "events_out_per_s": 90.0}
    now[0] = 10.2                                  # a reader asking in between does not skew it
    assert meter.update(events_in=1000, events_out=900)["events_in_per_s"] == pytest.approx(0 + 500 / 5.2, 0.01)


def test_rejections_are_counted_by_reason_and_merged():
    counter = RejectCounter()
    counter.events("weekly_sales: must be a number")
    counter.events("duplicate", 3)
    counter.events("duplicate", 0)
    counter.request("invalid_json")
    counted = counter.as_dict()
    assert counted == {"rejected": {"weekly_sales: must be a number": 1, "duplicate": 3},
                       "rejected_requests": {"invalid_json": 1}}
    assert merge_rejected({"event: not JSON": 2, "duplicate": 1}, counted["rejected"]) == {
        "rejected": {"event: not JSON": 2, "duplicate": 4, "weekly_sales: must be a number": 1}, "rejected_total": 7}


def test_ingest_lag_is_the_age_of_the_oldest_waiting_event():
    queue = IngestQueue()
    assert queue.oldest_age() == 0.0
    queue.put([{"n": 1}, {"n": 2}])
    time.sleep(0.05)
    queue.put([{"n": 3}])
    first = queue.oldest_age()
    assert first >= 0.05
    assert queue.next_batch(1, 0.0) == [{"n": 1}]
    assert queue.oldest_age() >= first                    # event 2 arrived with event 1
    queue.next_batch(1, 0.0)
    assert queue.oldest_age() < first                     # now event 3 is the oldest
    queue.next_batch(5, 0.0)
    assert queue.oldest_age() == 0.0


def test_scoring_latency_per_batch_and_per_event():
    stats = PipelineStats()
    stats.scored(100, 100, 20.0)
    assert stats.as_dict()["avg_score_ms"] == 20.0 and stats.as_dict()["last_score_ms_per_event"] == 0.2
    for _ in range(50):
        stats.scored(10, 10, 4.0)
    figures = stats.as_dict()
    assert figures["last_score_ms"] == 4.0 and figures["last_batch_size"] == 10
    assert 4.0 <= figures["avg_score_ms"] < 4.1 and figures["avg_score_ms_per_event"] == pytest.approx(0.4, abs=0.01)


def test_process_sampler_and_diskcache_stats(tmp_path):
    sample = ProcessSampler().sample()
    assert sample["rss_bytes"] > 10_000_000 and sample["threads"] >= 1 and sample["cpu_percent"] >= 0
    stats = DiskcacheStats(tmp_path / "callback-cache")
    assert stats.collect()["entries"] == 0 and not (tmp_path / "callback-cache").exists()   # never creates it
    import diskcache
    with diskcache.Cache(str(tmp_path / "callback-cache")) as cache:
        cache.set("job", b"x" * 5000)
    figures = stats.collect()
    assert figures["kind"] == "diskcache" and figures["entries"] == 1 and figures["volume_bytes"] > 5000


def test_cluster_processes_table_has_one_row_per_process():
    web = {"web-1": {"connections": 2, "connections_by_channel": {"system": 2},
                     "process": {"pid": 1, "rss_bytes": 100, "cpu_percent": 1.5, "threads": 4}}}
    workers = {"worker-1": {"processed": 10, "leader": True, "avg_score_ms": 3.0,
                            "process": {"pid": 2, "rss_bytes": 200, "cpu_percent": 20.0, "threads": 9}}}
    table = processes(workers, web)
    assert table["web-1"]["role"] == "web" and table["web-1"]["connections_by_channel"] == {"system": 2}
    assert table["worker-1"] == {"role": "worker", "pid": 2, "rss_bytes": 200, "cpu_percent": 20.0, "threads": 9,
                                 "processed": 10, "leader": True, "avg_score_ms": 3.0}


# -- integration: the system channel over a real WebSocket ---------------------------------------
def check_figures(stats: dict) -> None:
    for key, kind in FIGURES.items():
        assert key in stats, f"system_update lacks {key}"
        assert isinstance(stats[key], kind), f"{key} is {stats[key]!r}"
    assert stats["memory_rss_bytes"] > 0 and stats["processes"]
    assert all({"role", "rss_bytes", "cpu_percent"} <= p.keys() for p in stats["processes"].values())
    assert stats["redis"]["status"] and stats["background_cache"]["kind"] in ("diskcache", "celery")


def bad_post_then_system_update(server: LiveServer) -> dict:
    """Post an invalid event and a duplicate to POST /api/v1/iot, then read the system channel until
    an update counts them."""
    key = ApiKeyStore(Database(server.data_dir / "pulseboard.db")).create("stats-producer")[1]
    good = {"event_id": uuid.uuid4().hex, "timestamp": datetime.now(timezone.utc).isoformat(), "store": 3,
            "dept": 7, "weekly_sales": 1500.0, "temperature": 40.0, "is_holiday": 0}
    url, headers = server.url + "/api/v1/iot", {"X-API-Key": key, "Content-Type": "application/json"}
    assert requests.post(url, data=json.dumps(dict(good, weekly_sales="lots")), headers=headers).status_code == 422
    assert requests.post(url, data=json.dumps(good), headers=headers).status_code == 202
    assert requests.post(url, data=json.dumps(good), headers=headers).json()["duplicates"] == 1
    assert requests.post(url, data="{not json", headers=headers).status_code == 400
    session = server.session()
    ws = server.ws(session)
    ws.send(json.dumps({"type": "subscribe", "channels": ["system"]}))

    def counted(message):
        updates = [m["stats"] for m in message.get("messages", []) if m["type"] == "system_update"]
        return updates and "duplicate" in updates[-1]["rejected"] and updates[-1]["connections_by_channel"]["system"]
    frame = recv_until(ws, counted, timeout=20)
    ws.close()
    return [m["stats"] for m in frame["messages"] if m["type"] == "system_update"][-1]


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("system"), SIM_RATE=40).start()
    yield server
    server.stop()


def test_system_channel_carries_every_figure_embedded(srv):
    stats = bad_post_then_system_update(srv)
    check_figures(stats)
    assert stats["mode"] == "embedded" and stats["redis"]["status"] == "not used"
    assert [count for reason, count in stats["rejected"].items() if reason.startswith("weekly_sales:")] == [1]
    assert stats["rejected"]["duplicate"] == 1 and stats["rejected_requests"]["invalid_json"] == 1
    assert stats["rejected_total"] >= 2 and stats["connections"] >= 1
    assert stats["events_out_per_s"] > 0 and stats["background_cache"]["kind"] == "diskcache"
    assert len(stats["processes"]) == 1 and next(iter(stats["processes"].values()))["role"] == "embedded"
    metrics = srv.session().get(srv.url + "/metrics").text
    assert "pulse_events_in_per_second" in metrics and 'pulse_events_rejected_total{reason="duplicate"} 1.0' in metrics


@pytest.mark.distributed
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


# -- browser: the System and Stream log pages -----------------------------------------------------
def rows(page):
    return page.locator("[data-testid=stream-row]")


def counter(page):
    return page.inner_text("[data-testid=stream-counter]")


@pytest.mark.browser
def test_system_and_stream_log_pages_in_chromium(browser, srv):
    page, errors = logged_in_page(browser, srv, "/login?next=/system")
    wait_for(lambda: status(page) == "Live", 20, "Live status")
    wait_for(lambda: page.locator("[data-testid=system-card]").count() >= 10, 20, "system cards")
    value = lambda key: page.inner_text(f"[data-testid=system-value-{key}]").strip()   # noqa: E731
    wait_for(lambda: value("out") not in ("", "—", "0"), 20, "events out per second")
    assert value("memory").endswith("MB") and value("redis") == "not used"
    first = page.inner_text("#system-updated")
    wait_for(lambda: page.inner_text("#system-updated") != first, 10, "a later update")
    assert "system" in page.inner_text("[data-testid=system-connections]")
    assert "embedded" in page.inner_text("[data-testid=system-processes]")
    assert "diskcache" in page.inner_text("[data-testid=system-cache]")
    wait_for(lambda: page.locator("#system-rate-chart .scatterlayer .trace").count() == 2, 10, "the rate chart's two lines")

    page.goto(srv.url + "/stream")
    wait_for(lambda: status(page) == "Live", 20, "Live status on /stream")
    wait_for(lambda: rows(page).count() >= 20, 20, "messages in the stream log")
    assert rows(page).count() <= 200
    assert any(t in page.inner_text("[data-testid=stream-rows]") for t in ("iot_update", "kpi_update"))

    page.click("#stream-pause")
    wait_for(lambda: "Paused" in counter(page), 5, "paused")
    held = rows(page).first.inner_text()
    wait_for(lambda: int(counter(page).split("Paused: ")[1].split(" new")[0]) >= 10, 20, "new messages counted")
    assert rows(page).first.inner_text() == held                  # the list stood still meanwhile
    assert page.inner_text("#stream-pause") == "Resume"
    page.click("#stream-pause")
    wait_for(lambda: rows(page).first.inner_text() != held, 10, "the list to move again")
    assert "Paused" not in counter(page) and page.inner_text("#stream-pause") == "Pause"

    for channel in ("iot", "alerts", "kpis"):                     # system only: the server stops the rest
        page.get_by_label(channel, exact=True).uncheck()
    page.click("#stream-clear")
    time.sleep(1.5)                                               # frames already on their way may still land
    page.click("#stream-clear")
    wait_for(lambda: rows(page).count() >= 2, 15, "system messages only")
    types = {t.strip() for t in page.locator("[data-testid=stream-row] .stream-type").all_inner_texts()}
    assert types <= {"system_update", "snapshot"}, types
    assert errors == [], errors
