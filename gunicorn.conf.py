"""gunicorn settings for Pulseboard's web workers: `gunicorn app:server` reads this file by itself.

- gevent workers: every open WebSocket holds a connection (and two green threads) for as long as
  the page is open; gunicorn's sync worker cannot serve that at all.
- WEB_CONCURRENCY web workers (default 2) when REDIS_URL is set: they share the stream, state and
  hub through Redis, and ingest/model work runs in `python -m services.runtime.worker` processes.
- Without REDIS_URL there is nothing to share state through, so exactly one worker runs, and it
  runs the whole embedded pipeline (simulator, models, hub) as `python app.py` would.
- Each worker starts its threads (the Redis relay that feeds its own WebSocket clients, the stats
  reporter) in post_worker_init, after the fork: threads do not survive a fork.
"""
import logging
import os

distributed = bool(os.environ.get("REDIS_URL"))

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8050')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2")) if distributed else 1
worker_class = "gevent"
worker_connections = int(os.environ.get("WORKER_CONNECTIONS", "1000"))
timeout = 60
graceful_timeout = 10
control_socket_disable = True
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")


def post_worker_init(worker):
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from services.security.tickets import redact_tickets_in_logs
    redact_tickets_in_logs()
    from services.web.runtime_access import get_runtime
    runtime = get_runtime(worker.wsgi)
    if distributed:
        runtime.start_web()
    else:
        runtime.start()
    _close_sockets_on_sigterm(worker)


def _close_sockets_on_sigterm(worker):
    """A graceful stop (SIGTERM) waits up to graceful_timeout for open requests to end, and an open
    WebSocket never ends by itself: close them all (1012, the clients reconnect elsewhere or to the
    next worker), in a greenlet spawned from the signal handler as gunicorn's gevent worker does its own
    quit (a blocking call, even starting a thread, in the handler raises BlockingSwitchOutError)."""
    import signal

    import gevent

    from services.web.upgrade import close_sockets
    previous = signal.getsignal(signal.SIGTERM)

    def on_sigterm(sig, frame):
        gevent.spawn(close_sockets, worker.wsgi)
        previous(sig, frame)
    signal.signal(signal.SIGTERM, on_sigterm)
    signal.siginterrupt(signal.SIGTERM, False)      # as gunicorn set it: requests' system calls go on


def worker_exit(server, worker):
    app = getattr(worker, "wsgi", None)
    if app is not None:
        from services.web.runtime_access import get_runtime
        get_runtime(app).stop()
