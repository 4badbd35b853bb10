"""The System figures (services/cluster/system_stats.py and services/cluster/reports.py), pure logic."""
import time

import pytest

from services.cluster.reports import processes
from services.cluster.system_stats import DiskcacheStats, ProcessSampler, RateMeter, RejectCounter, merge_rejected
from services.ingest.queue import IngestQueue
from services.pipeline.batch import PipelineStats


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
