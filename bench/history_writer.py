"""What the history writer costs the embedded pipeline's interpreter, in process (issue 13).

    .venv/bin/python bench/history_writer.py              # 3 runs each: history off / on, 400,000 events
    .venv/bin/python bench/history_writer.py --events 100000 --runs 1

One thread scores simulator retail events in micro-batches of 500 (validation, the models, the batch
building: BatchProcessor.process, what the pipeline thread does) as fast as it can, with or without a
HistoryWriter thread beside it (SQLite in a temporary folder) recording every batch, as the embedded
runtime does. Both threads share one GIL, so what the writer costs the pipeline is the difference in the
scoring thread's events/s. Then, without the scoring thread, the writer's own time per event holding
the GIL (what a spinning thread loses while it runs) for its parts: building the blocks, summing the
rollups, encoding the payloads, the database write. bench/history.py measures the same end to end
behind the real server (its throughput ratio is the issue's figure).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

BATCH = 500


def scored_rate(raw: list[dict], history: bool) -> float:
    """Events/s the scoring thread reaches over `raw`, with a writer recording every batch or not."""
    from services.history.store import SqlHistoryStore
    from services.history.writer import HistoryWriter
    from services.pipeline.batch import BatchProcessor, PipelineStats, validate_all
    from services.scoring.models import ModelBank
    from services.simulation.retail import RetailSimulator
    from services.storage.db import Database
    bank = ModelBank(seed=0)
    bank.warm_up(validate_all(RetailSimulator(seed=2).history(3000), PipelineStats()))
    processor, stats = BatchProcessor(bank), PipelineStats()
    with tempfile.TemporaryDirectory() as folder:
        db = Database(Path(folder) / "bench.db")
        writer = HistoryWriter(SqlHistoryStore(db)) if history else None
        if writer:
            writer.start()
        started = time.perf_counter()
        for first in range(0, len(raw), BATCH):
            for batch in processor.process(validate_all([dict(e) for e in raw[first:first + BATCH]], stats)):
                if writer:
                    writer.record(batch.tenant, batch.events, batch.scores)
        rate = len(raw) / (time.perf_counter() - started)
        if writer:
            writer.flush()
            writer.stop()
        db.dispose()
    return rate


def gil_held(work) -> float:
    """Seconds `work()` held the GIL: what a spinning thread lost while it ran."""
    count, stop = [0], threading.Event()

    def spin():
        while not stop.is_set():
            count[0] += 1
    thread = threading.Thread(target=spin)
    thread.start()
    time.sleep(0.2)
    before, t0 = count[0], time.perf_counter()
    time.sleep(0.5)
    per_second = (count[0] - before) / (time.perf_counter() - t0)
    before, t0 = count[0], time.perf_counter()
    work()
    elapsed, spun = time.perf_counter() - t0, count[0] - before
    stop.set()
    thread.join()
    return max(0.0, elapsed - spun / per_second)


def writer_parts(raw: list[dict]) -> dict:
    """us per event holding the GIL for each part of one write of all of `raw` (best of 3)."""
    from services.history.blocks import batch_blocks, rollup_cells
    from services.history.rows import RollupDeltas
    from services.history.store import SqlHistoryStore
    from services.pipeline.batch import BatchProcessor, PipelineStats, validate_all
    from services.scoring.models import ModelBank
    from services.storage.db import Database
    processor, stats, now = BatchProcessor(ModelBank(seed=0)), PipelineStats(), time.time()
    batches = [(b.tenant, b.events, b.scores, now) for first in range(0, len(raw), BATCH)
               for b in processor.process(validate_all([dict(e) for e in raw[first:first + BATCH]], stats))]
    blocks = batch_blocks(batches)

    def rollups():
        deltas = RollupDeltas()
        for block in blocks:
            deltas.add_cells(rollup_cells(block))
        return deltas.scope_rows()
    rows = rollups()
    with tempfile.TemporaryDirectory() as folder:
        db = Database(Path(folder) / "bench.db")
        store = SqlHistoryStore(db)
        parts = {"blocks": lambda: batch_blocks(batches), "rollups": rollups,
                 "encode": lambda: [block.row() for block in blocks],
                 "write (encode included)": lambda: store.write(blocks, rows)}
        out = {name: round(min(gil_held(work) for _ in range(3)) / len(raw) * 1e6, 3) for name, work in parts.items()}
        db.dispose()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=400_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    from services.simulation.retail import RetailSimulator
    simulator = RetailSimulator(seed=1)
    raw = [simulator.next_event() for _ in range(args.events)]
    off, on = [], []
    for _ in range(args.runs):
        off.append(scored_rate(raw, history=False))
        on.append(scored_rate(raw, history=True))
        print(f"  scoring thread: history off {off[-1]:,.0f} ev/s, on {on[-1]:,.0f} ev/s", flush=True)
    sys.setswitchinterval(0.0005)          # the spinner takes the GIL back quickly: a fine-grained measure
    parts = writer_parts(raw[:44_000])     # one write: half a second of a 88,000 events/s pipeline
    ratio = sum(on) / sum(off)
    cost = (1 / (sum(on) / len(on)) - 1 / (sum(off) / len(off))) * 1e6
    print(f"  writer parts, us per event holding the GIL: {parts}")
    print(f"ratio_on_off={ratio:.3f} cost_us_per_event={cost:.2f} off_ev_s={sum(off) / len(off):.0f} "
          f"on_ev_s={sum(on) / len(on):.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
