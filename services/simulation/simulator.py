"""`python -m services.simulation.simulator`: produce simulated events into a running deployment
over REST (`--url` + `--api-key`) or straight into Redis (`--redis`).

A bar on stderr shows the events sent and their rate (with --duration also how far and the time left);
the last line says how many were sent, how fast."""
from __future__ import annotations


def main(argv=None) -> int:
    """python -m services.simulation.simulator (--url URL --api-key KEY | --redis REDIS_URL) [--profile sensor] [--rate 50]"""
    import argparse
    import sys
    import time

    from tqdm import tqdm

    from services.simulation.senders import SendError, add_target_arguments, sender_from
    from services.simulation.sensor import make_simulator
    parser = argparse.ArgumentParser(prog="python -m services.simulation.simulator",
                                     description="Produce simulated events into a Pulseboard deployment.")
    add_target_arguments(parser)
    parser.add_argument("--profile", choices=("retail", "sensor", "mixed"), default="retail")
    parser.add_argument("--rate", type=float, default=50.0, help="events per second")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between sends")
    parser.add_argument("--anomaly-rate", type=float, default=0.03)
    parser.add_argument("--seed", type=int, default=None, help="same seed, same events (ids included)")
    parser.add_argument("--duration", type=float, default=None, help="seconds to run (default: until Ctrl-C)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    send = sender_from(args, parser)
    sim = make_simulator(args.profile, args.seed, args.anomaly_rate, tenant=args.tenant)
    started, sent, duplicates, owed = time.monotonic(), 0, 0, 0.0
    expected = round(args.rate * args.duration) if args.duration is not None else None
    bar = tqdm(total=expected, unit="event", desc="simulating", file=sys.stderr, leave=False, dynamic_ncols=True,
               disable=args.quiet or not sys.stderr.isatty())
    try:
        while args.duration is None or time.monotonic() - started < args.duration:
            tick = time.monotonic()
            owed += args.rate * args.interval
            count, owed = int(owed), owed - int(owed)
            if count:
                accepted, dup = send([sim.next_event() for _ in range(count)])
                sent, duplicates = sent + accepted, duplicates + dup
                bar.update(count)
            time.sleep(max(0.0, args.interval - (time.monotonic() - tick)))
    except SendError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    finally:
        bar.close()
    seconds = time.monotonic() - started
    print(f"sent {sent} events ({duplicates} duplicates) in {seconds:.1f} s "
          f"({sent / max(seconds, 1e-9):,.1f} events/s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
