"""A scored batch as history blocks and rollup deltas (services.history.blocks, services.history.rows),
and the CSV stream (services.history.export): every field, score and both clocks kept as the plain row
of each event says (history_data.event_rows), rollups exactly equal to a brute-force computation,
spreadsheet-injection-safe cells, numbers as received."""
import csv
import io
import math
import random

import numpy as np

from history_data import T0, as_dict, brute_rollups, event_rows, random_batch, retail, scores, sensor
from services.history.blocks import batch_blocks, rollup_cells
from services.history.export import CHUNK_ROWS, csv_chunks
from services.history.rows import ROLLUP_COLUMNS, RollupDeltas, event_time, received_time
from services.history.scopes import RETAIL, SENSOR
from services.scoring.models import ModelBank
from services.storage.event_blocks import NULL_INT, NUMERIC, TEXT, Block, decode, object_array


def stored(blocks) -> list[dict]:
    """The events of `blocks` as they read back from their payloads, by field (missing values as None)."""
    out = []
    for block in blocks:
        columns = decode(block.profile, block.row()["payload"])
        for i in range(len(block)):
            values = {name: columns[name][i] for name in columns}
            values = {k: (v.item() if hasattr(v, "item") else v) for k, v in values.items()}
            out.append({k: (None if v is None or v == NULL_INT or (isinstance(v, float) and math.isnan(v)) else v)
                        for k, v in values.items()} | {"tenant": block.tenant, "profile": block.profile})
    return out


def test_a_retail_event_keeps_its_fields_its_scores_and_both_clocks():
    e = retail("r1", 3, 7, 1234.5, timestamp="2011-02-04T00:00:00+02:00", fuel_price=3.25, cpi=211.5,
               unemployment=8.1)
    batch = ("acme", [e], scores(1, anomaly=[True], risk=[83], version=9), T0 + 1.5)
    [row] = stored(batch_blocks([batch]))
    expected = {"tenant": "acme", "received": T0 + 1.5, "ts": event_time("2011-02-03T22:00:00.000Z"),
                "timestamp": "2011-02-03T22:00:00.000Z", "event_id": "r1", "profile": RETAIL, "store": 3, "dept": 7,
                "value": 1234.5, "anomaly": 1, "anomaly_score": 0.83, "risk_score": 83, "risk_level": "CRITICAL",
                "cluster": None, "model_version": 9, "temperature": 40.5, "is_holiday": 0, "fuel_price": 3.25,
                "cpi": 211.5, "unemployment": 8.1}
    assert {k: v for k, v in row.items() if k != "seq"} == expected
    assert row["ts"] == 1296770400.0          # the event's own time, not when it arrived
    assert {k: v for k, v in as_dict(event_rows(*batch)[0]).items() if v is not None} == {
        k: v for k, v in expected.items() if v is not None}                  # the plain row says the same


def test_a_sensor_reading_keeps_its_asset_sensor_and_unit():
    events = [sensor("s0", "pump-1", "Vibration", "v-1", 0.1), sensor("s1", "pump-1", "vibration", "v-1", 2.0)]
    rows = stored(batch_blocks([("acme", events, scores(2, anomaly=[False, True], risk=[10, 70]), T0)]))
    assert [(r["profile"], r["asset_id"], r["sensor_type"], r["sensor_id"], r["value"], r["unit"])
            for r in rows] == [(SENSOR, "pump-1", "vibration", "v-1", 0.1, "mm/s"),
                               (SENSOR, "pump-1", "vibration", "v-1", 2.0, "mm/s")]
    assert [r["cluster"] for r in rows] == [None, 1] and [r["anomaly"] for r in rows] == [0, 1]
    assert "temperature" not in rows[0] and "store" not in rows[0]


def test_a_mixed_batch_reads_back_as_its_plain_rows_in_the_order_recorded():
    rng = random.Random(2)
    batches = [("acme", random_batch(rng, 40, prefix=f"b{k}-"), scores(40, seed=k), T0 + k * 20) for k in range(5)]
    got = sorted(stored(batch_blocks(batches)), key=lambda r: r.pop("seq"))
    expected = [as_dict(r) for b in batches for r in event_rows(*b)]
    assert [{k: v for k, v in r.items() if v is not None} for r in got] == [
        {k: v for k, v in r.items() if v is not None} for r in expected]


def test_batches_scored_by_the_models_keep_what_scoring_read_exactly_as_the_events_say():
    """Real scoring hands the fields it read (Scores.inputs) to the writer, which keeps them instead of
    reading the events again; batches without them (and subsets taken from them) read the events."""
    rng = random.Random(5)
    events = random_batch(rng, 120, prefix="m-")
    shop = [e for e in events if e["profile"] == RETAIL]
    plant = [e for e in events if e["profile"] == SENSOR]
    for e in shop[::7]:
        e["weekly_sales"] = -0.0 if e is shop[0] else e["weekly_sales"] + 1e-9      # exact values, -0.0 too
    shop_scores, plant_scores = ModelBank().score(shop), ModelBank(kind="sensor").score(plant)
    assert shop_scores.inputs is not None and plant_scores.inputs is not None
    half = list(range(0, len(shop), 2))
    batches = [("acme", shop, shop_scores, T0), ("acme", plant, plant_scores, T0 + 1),
               ("acme", [shop[i] for i in half], shop_scores.take(half), T0 + 2),
               ("acme", events[:30], scores(30, seed=1), T0 + 3)]                 # mixed, no inputs: read
    got = sorted(stored(batch_blocks(batches)), key=lambda r: r.pop("seq"))
    expected = [as_dict(r) for b in batches for r in event_rows(*b)]
    assert [{k: v for k, v in r.items() if v is not None} for r in got] == [
        {k: v for k, v in r.items() if v is not None} for r in expected]
    assert math.copysign(1, next(r["value"] for r in got if r["event_id"] == shop[0]["event_id"])) == -1


def test_text_columns_read_back_whatever_they_hold():
    """Text is joined by a unit separator with NULL as a lone NUL; a column where a value is a lone NUL
    itself, or holds the separator, is kept as JSON instead: every one reads back as it was."""
    for values in (["a", "b"], ["a", None, ""], ["\x00", "b"], ["\x00", None], ["a\x00b", None], ["x\x1fy", "z"],
                   [None], [""]):
        column = object_array(values)
        block = Block("t", RETAIL, {**{name: np.zeros(len(values)) for name, _ in NUMERIC[RETAIL]},
                                    **{name: column for name in TEXT[RETAIL]}})
        assert list(decode(RETAIL, block.row()["payload"])["event_id"]) == values


def test_received_is_the_stream_entry_time_when_there_is_one():
    assert received_time({"_entry": "1796205600123-4"}, 5.0) == 1796205600.123
    assert received_time({}, 5.0) == 5.0
    e = dict(retail("r1", 1, 1, 1.0), _entry="1796205601500-0")
    [row] = stored(batch_blocks([("t", [e], scores(1), T0)]))
    assert row["received"] == 1796205601.5


def test_rollup_deltas_equal_a_brute_force_sum_over_every_scope_and_bucket():
    rng = random.Random(11)
    batches = []
    for batch in range(6):                     # three tenants, times spread over two hours and many minutes
        events = random_batch(rng, 150, prefix=f"b{batch}-")
        for tenant in ("acme", "globex", "initech"):
            part = [e for e in events if rng.random() < 0.5]
            batches.append((tenant, part, scores(len(part), seed=batch), T0 + rng.uniform(0, 7200)))
    deltas = RollupDeltas()
    for half in (batches[:len(batches) // 2], batches[len(batches) // 2:]):      # two writes add up
        for block in batch_blocks(half):
            deltas.add_cells(rollup_cells(block))
    produced = deltas.scope_rows()
    keys = [r[:4] for r in produced]                                 # (tenant, scope, bucket, start)
    assert keys == sorted(keys) and len(set(keys)) == len(keys)     # sorted: concurrent upserts lock in one order
    assert ROLLUP_COLUMNS[4:] == ("count", "total", "low", "high", "anomalies", "max_risk")
    rows = [as_dict(r) for b in batches for r in event_rows(*b)]
    assert {r[:4]: r[4:] for r in produced} == brute_rollups(rows)
    assert len(deltas) < len(rows)                                   # summed per finest cell first


def test_rollups_run_on_received_time_whatever_the_events_say():
    old = retail("r1", 1, 1, 10.0, timestamp="2010-02-05T00:00:00Z")
    assert RollupDeltas().scope_rows() == []
    deltas = RollupDeltas()
    for block in batch_blocks([("t", [old], scores(1), T0 + 61)]):
        deltas.add_cells(rollup_cells(block))
    assert {as_dict(r, ROLLUP_COLUMNS)["start"] for r in deltas.scope_rows()} == {T0 + 60, T0}   # minute, hour of arrival


# -- CSV -----------------------------------------------------------------------------------------------

def read_csv(chunks) -> list[list[str]]:
    return list(csv.reader(io.StringIO("".join(chunks))))


def test_text_cells_that_a_spreadsheet_would_run_get_an_apostrophe_and_numbers_stay_as_received():
    rows = [("event_id", "value", "note"), ("=HYPERLINK(\"http://x\",\"y\")", 1234.5, "+1"), ("-2+3", -0.1, "@SUM(A1)"),
            ("\tTAB", 0.1, "\rCR"), ("plain", 1e-07, None), ("ok-1", 12345678901.25, "a,b \"q\"")]
    out = read_csv(csv_chunks(rows))
    assert out == [["event_id", "value", "note"], ["'=HYPERLINK(\"http://x\",\"y\")", "1234.5", "'+1"],
                   ["'-2+3", "-0.1", "'@SUM(A1)"], ["'\tTAB", "0.1", "'\rCR"], ["plain", "1e-07", ""],
                   ["ok-1", "12345678901.25", "a,b \"q\""]]
    assert [float(r[1]) for r in out[1:]] == [1234.5, -0.1, 0.1, 1e-07, 12345678901.25]    # exactly, read back
    assert "".join(csv_chunks(rows[:2])).endswith("\r\n")                                  # RFC 4180 records


def test_the_csv_comes_in_chunks_of_a_few_thousand_rows():
    rows = [("n",)] + [(i,) for i in range(CHUNK_ROWS * 2 + 5)]
    chunks = list(csv_chunks(iter(rows)))
    assert len(chunks) == 3 and [int(r[0]) for r in read_csv(chunks)[1:]] == list(range(CHUNK_ROWS * 2 + 5))
    assert list(csv_chunks(iter([]))) == []
