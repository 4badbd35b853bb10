"""Replay a CSV into the live stream, keeping its original time gaps (divided by --speed).

    python -m services.replay FILE.csv --url http://127.0.0.1:8050 --api-key KEY --speed 10
    python -m services.replay FILE.csv ... --no-realtime            # as fast as the server takes it
    python -m services.replay --generate out.csv --stores 5 --weeks 20

The file is read with the same detection as uploads (services.analysis), so anything the Analysis
page accepts as a retail file replays. Rows sharing a timestamp are posted together; each event's
id is derived from the file and line, so replaying the same file twice is idempotent on the server.
"""
from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

import pandas as pd

from services.analysis import AnalysisError, load_csv
from services.analysis.synthetic import generate_walmart_csv
from services.events import format_timestamp
from services.simulator import post_events

BATCH = 1000


def _number(value, default: float) -> float:
    """A finite float, or `default` for a missing cell (the event schema requires a number)."""
    return default if value is None or pd.isna(value) else float(value)


def events_from_csv(path: Path) -> list[tuple[float, list[dict]]]:
    """[(seconds since the first timestamp, events at that time)] for a retail-profile CSV."""
    parsed = load_csv(path)
    if parsed.profile != "retail":
        raise AnalysisError("not_retail", f"Replay needs the retail layout (Store, Dept, Date, Weekly_Sales); "
                            f"this file looks like {parsed.profile!r}.", 422)
    df, m = parsed.df, parsed.mapping
    store, dept = m.groups
    optional = {c.lower(): c for c in df.columns}
    tag = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:8]
    start = df[m.time].min()
    out = []
    for moment, rows in df.groupby(m.time, sort=True):
        events = []
        for line, row in zip(parsed.line_of_row[rows.index], rows.itertuples(index=False)):
            record = row._asdict()
            event = {"event_id": f"replay-{tag}-{line}", "timestamp": format_timestamp(moment.to_pydatetime()),
                     "store": int(record[store]), "dept": int(record[dept]),
                     "weekly_sales": float(record[m.values[0]]),
                     "temperature": _number(record.get(optional.get("temperature", "")), default=60.0),
                     "is_holiday": int(bool(record[m.flag])) if m.flag else 0}
            events.append(event)
        out.append(((moment - start).total_seconds(), events))
    return out


def replay(groups, send, speed: float = 1.0, realtime: bool = True, sleep=time.sleep, clock=time.monotonic) -> int:
    """Send each group when its (scaled) time comes; returns how many events were accepted."""
    started, accepted = clock(), 0
    for offset, events in groups:
        if realtime:
            wait = offset / speed - (clock() - started)
            if wait > 0:
                sleep(wait)
        for i in range(0, len(events), BATCH):
            accepted += send(events[i:i + BATCH])
    return accepted


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.replay", description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--url")
    parser.add_argument("--api-key")
    parser.add_argument("--speed", type=float, default=1.0, help="divide the original time gaps by this")
    parser.add_argument("--no-realtime", dest="realtime", action="store_false", help="send as fast as possible")
    parser.add_argument("--generate", action="store_true", help="write a synthetic retail CSV to FILE and exit")
    parser.add_argument("--stores", type=int, default=5)
    parser.add_argument("--depts", type=int, default=10)
    parser.add_argument("--weeks", type=int, default=52)
    args = parser.parse_args(argv)
    if args.generate:
        generate_walmart_csv(args.file, stores=args.stores, depts=args.depts, weeks=args.weeks, rows=None)
        print(f"wrote {args.stores * args.depts * args.weeks} rows to {args.file}")
        return 0
    if not (args.url and args.api_key):
        parser.error("--url and --api-key are required to replay")
    try:
        groups = events_from_csv(args.file)
    except AnalysisError as exc:
        print(f"cannot replay {args.file}: {exc.message}", file=sys.stderr)
        return 2

    def send(events):
        status, body = post_events(args.url, args.api_key, events)
        if status != 202:
            raise SystemExit(f"post failed ({status}): {body.get('error')}")
        return body["accepted"] + body["duplicates"]

    total = replay(groups, send, args.speed, args.realtime)
    print(f"replayed {total} events from {args.file}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
