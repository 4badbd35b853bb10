"""Replay a CSV into the live stream, keeping its original time gaps (divided by --speed).

    python -m services.simulation.replay FILE.csv --url http://127.0.0.1:8050 --api-key KEY --speed 10
    python -m services.simulation.replay FILE.csv --redis redis://127.0.0.1:6379/0 --speed 3600
    python -m services.simulation.replay FILE.csv ... --no-realtime            # as fast as the server takes it
    python -m services.simulation.replay --generate out.csv --stores 5 --weeks 20
    python -m services.simulation.replay --generate out.csv --profile sensor --assets 6 --hours 48
    ... --quiet                       # no progress bar (none either when stderr is not a terminal)

The file is read with the same detection as uploads (services.analysis), so anything the Analysis
page accepts as a retail or sensor file replays. Rows sharing a timestamp are sent together; each
event's id is derived from the file and line, so replaying the same file twice is idempotent. A bar on
stderr shows the events sent, their rate and the time left; the last line says how many, how fast.
"""
from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from services.analysis import AnalysisError, load_csv
from services.analysis.profiles import norm
from services.analysis.synthetic import generate_walmart_csv
from services.ingest.events import QUALITIES
from services.timestamps import format_timestamp
from services.simulation.senders import SendError, add_target_arguments, sender_from
from services.simulation.sensor import generate_sensor_csv

BATCH = 1000


def _number(value, default: float) -> float:
    """A finite float, or `default` for a missing cell (the event schema requires a number)."""
    return default if value is None or pd.isna(value) else float(value)


def _text(value, default: str = "") -> str:
    return default if value is None or pd.isna(value) else str(value).strip()


def events_from_csv(path: Path) -> list[tuple[float, list[dict]]]:
    """[(seconds since the first timestamp, events at that time)] for a retail or sensor CSV."""
    parsed = load_csv(path)
    if parsed.profile not in ("retail", "sensor"):
        raise AnalysisError("not_replayable", "Replay needs the retail layout (Store, Dept, Date, Weekly_Sales) or "
                            "the sensor layout (timestamp, asset_id, sensor_id or sensor_type, value); "
                            f"this file looks like {parsed.profile!r}.", 422)
    df, m = parsed.df, parsed.mapping
    column = {norm(c): c for c in df.columns}
    make = _retail_event if parsed.profile == "retail" else _sensor_event
    tag = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:8]
    start = df[m.time].min()
    out = []
    for moment, rows in df.groupby(m.time, sort=True):
        stamp = format_timestamp(moment.to_pydatetime())
        events = [dict(make(row._asdict(), m, column), event_id=f"replay-{tag}-{line}", timestamp=stamp)
                  for line, row in zip(parsed.line_of_row[rows.index], rows.itertuples(index=False))]
        out.append(((moment - start).total_seconds(), events))
    return out


def _retail_event(record: dict, m, column: dict) -> dict:
    store, dept = m.groups
    return {"store": int(record[store]), "dept": int(record[dept]), "weekly_sales": float(record[m.values[0]]),
            "temperature": _number(record.get(column.get("temperature", "")), default=60.0),
            "is_holiday": int(bool(record[m.flag])) if m.flag else 0}


def _sensor_event(record: dict, m, column: dict) -> dict:
    asset = _text(record[m.groups[0]])
    kind = _text(record.get(column.get("sensortype", "")), "generic").lower()
    sensor = _text(record.get(column.get("sensorid", column.get("sensor", ""))), f"{asset}-{kind}")
    quality = _text(record.get(column.get("quality", "")), "good").lower()
    return {"asset_id": asset, "sensor_id": sensor, "sensor_type": kind, "value": float(record[m.values[0]]),
            "unit": _text(record.get(column.get("unit", ""))), "quality": quality if quality in QUALITIES else "uncertain"}


def replay(groups, send, speed: float = 1.0, realtime: bool = True, sleep=time.sleep, clock=time.monotonic,
           on_sent=lambda count: None) -> int:
    """Send each group when its (scaled) time comes; returns how many events the server took. `on_sent` hears
    the size of each batch once the server took it (the progress bar)."""
    started, accepted = clock(), 0
    for offset, events in groups:
        if realtime:
            wait = offset / speed - (clock() - started)
            if wait > 0:
                sleep(wait)
        for i in range(0, len(events), BATCH):
            accepted += send(events[i:i + BATCH])
            on_sent(len(events[i:i + BATCH]))
    return accepted


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.simulation.replay", description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--generate", action="store_true", help="write a synthetic CSV to FILE and exit")
    parser.add_argument("--profile", choices=("retail", "sensor"), default="retail", help="with --generate")
    parser.add_argument("--stores", type=int, default=5)
    parser.add_argument("--depts", type=int, default=10)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--assets", type=int, default=6)
    parser.add_argument("--hours", type=int, default=48)
    parser.add_argument("--speed", type=float, default=1.0, help="divide the original time gaps by this")
    parser.add_argument("--no-realtime", dest="realtime", action="store_false", help="send as fast as possible")
    if argv is None:
        argv = sys.argv[1:]
    if "--generate" in argv:
        args = parser.parse_args(argv)
        if args.profile == "sensor":
            generate_sensor_csv(args.file, assets=args.assets, hours=args.hours)
            print(f"wrote {args.assets * 4 * args.hours} rows to {args.file}")
        else:
            generate_walmart_csv(args.file, stores=args.stores, depts=args.depts, weeks=args.weeks, rows=None)
            print(f"wrote {args.stores * args.depts * args.weeks} rows to {args.file}")
        return 0
    add_target_arguments(parser)
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    send = sender_from(args, parser)
    try:
        groups = events_from_csv(args.file)
    except AnalysisError as exc:
        print(f"cannot replay {args.file}: {exc.message}", file=sys.stderr)
        return 2
    if args.redis:
        for _, events in groups:
            for e in events:
                e["tenant"] = args.tenant
    started = time.monotonic()
    with tqdm(total=sum(len(events) for _, events in groups), unit="event", desc="replaying", file=sys.stderr,
              disable=args.quiet or not sys.stderr.isatty(), leave=False, dynamic_ncols=True) as bar:
        try:
            total = replay(groups, lambda events: sum(send(events)), args.speed, args.realtime, on_sent=bar.update)
        except SendError as exc:
            bar.close()
            print(str(exc), file=sys.stderr)
            return 1
    seconds = time.monotonic() - started
    print(f"replayed {total} events from {args.file} in {seconds:.1f} s ({total / max(seconds, 1e-9):,.1f} events/s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
