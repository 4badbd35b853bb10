"""Distributed mode spans hosts (issue 12): two hosts, each running `gunicorn app:server` and
`python -m services.runtime.worker` with its own, empty DATA_DIR, sharing nothing but DATABASE_URL (a
throwaway PostgreSQL cluster), REDIS_URL (a throwaway redis-server) and SECRET_KEY.

Where the test may (root, iproute2 installed, `ip netns add` works: CI), each host is a network
namespace holding one end of a veth pair whose other end is on a bridge in the test's namespace.
PostgreSQL and Redis listen on the bridge's address only, so everything between a host and them
crosses its veth pair (checked: both hosts' addresses are among PostgreSQL's and Redis's clients),
and the test reaches the web servers over the bridge, as a browser on a third machine would.
Elsewhere everything runs on 127.0.0.1; `PULSEBOARD_TWO_HOSTS_LOOPBACK=1` forces that. The mode that
ran is printed and recorded as the test property `network` (with `network_note`: why loopback).

Shown: a user created on host A signs in on host B; an API key made on A ingests on B; an alert raised
by B's worker (the only worker running then) is acknowledged on A and the change reaches a socket on
B; A's worker takes over from B's (the events posted then are counted by A's worker); a CSV uploaded
on A is listed, analysed and exported on B; disabling the user on A closes their socket on B within
WS_SESSION_CHECK. Afterwards neither DATA_DIR holds a database or a secret key.
"""
import json
import os
import random
import shutil
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
import redis
import requests

from helpers import GUNICORN, WORKER, LiveServer, RedisServer, Worker, act, alerts_of, close_frame, dash_callback, \
    recv_json, recv_until, wait_for
from pg_cluster import PostgresCluster, pg_bin
from services.analysis import load_csv
from services.analysis.export import export_rows_csv
from services.analysis.filters import apply_filters
from services.redis_keys import RedisKeys
from services.simulation.retail import RetailSimulator

KEYS = RedisKeys()
FORCE_LOOPBACK = "PULSEBOARD_TWO_HOSTS_LOOPBACK"
ANN_PASSWORD = "ann-two-hosts-1"
WARM_UP_EVENTS = 2000        # 25 events per (store, dept): the worker's baselines know what is normal
SESSION_CHECK = 1.0          # WS_SESSION_CHECK of every host
STARTUP = 120                # seconds a process may take to start (five start at once on a small machine)
RETAIL = "Store,Dept,Date,Weekly_Sales\n" + "".join(f"{s},{d},2010-0{m}-05,{1000 * s + 10 * d + m}.5\n"
                                                      for s in (1, 2, 3) for d in (1, 2) for m in range(1, 10))


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=20)


def unused_subnet() -> str:
    """A /24 in 10.200-254.x.0 that no address or route of this machine is in (its first three octets)."""
    used = subprocess.run(["ip", "-4", "route", "show", "table", "all"], capture_output=True, text=True).stdout
    used += subprocess.run(["ip", "-4", "addr"], capture_output=True, text=True).stdout
    for _ in range(100):
        subnet = f"10.{random.randint(200, 254)}.{random.randint(0, 255)}"
        if f"{subnet}." not in used:
            return subnet
    raise OSError("no unused 10.x.y.0/24")


class Network:
    """Where the two hosts run: `hosts` maps A and B to (address, command prefix); PostgreSQL and Redis
    listen on `server`. Network namespaces on a bridge when possible, else loopback; undone on exit."""

    def __init__(self):
        self.mode, self.note, self.server = "loopback", "", "127.0.0.1"
        self.hosts = {name: ("127.0.0.1", []) for name in "AB"}
        self._made: list[tuple[str, str]] = []         # ("netns" | "link", name), deleted in reverse

    def __enter__(self) -> "Network":
        if os.environ.get(FORCE_LOOPBACK):
            self.note = f"forced by {FORCE_LOOPBACK}"
        elif os.geteuid() != 0 or not shutil.which("ip"):
            self.note = "network namespaces need root and iproute2"
        else:
            try:
                self._build()
            except (subprocess.SubprocessError, OSError) as exc:
                self.__exit__()
                said = (getattr(exc, "stderr", None) or b"").decode(errors="replace").strip()
                self.note = f"could not make namespaces: {said or exc}"
        return self

    def _build(self) -> None:
        tag, subnet = f"pb{os.getpid() % 100000}", unused_subnet()
        bridge = f"{tag}br"
        ip("link", "add", bridge, "type", "bridge")
        self._made.append(("link", bridge))
        ip("addr", "add", f"{subnet}.1/24", "dev", bridge)
        ip("link", "set", bridge, "up")
        hosts = {}
        for number, name in enumerate("AB", start=2):
            ns, outside, inside = f"{tag}{name}", f"{tag}{name}0", f"{tag}{name}1"
            ip("netns", "add", ns)
            self._made.append(("netns", ns))
            ip("link", "add", outside, "type", "veth", "peer", "name", inside)
            self._made.append(("link", outside))         # gone with the namespace, unless that failed
            ip("link", "set", inside, "netns", ns)
            ip("link", "set", outside, "master", bridge)
            ip("link", "set", outside, "up")
            ip("-n", ns, "addr", "add", f"{subnet}.{number}/24", "dev", inside)
            ip("-n", ns, "link", "set", inside, "up")
            ip("-n", ns, "link", "set", "lo", "up")
            ip("netns", "exec", ns, "true")              # a container may allow the namespace, not entering it
            hosts[name] = (f"{subnet}.{number}", ["ip", "netns", "exec", ns])
        self.mode, self.server, self.hosts = "netns", f"{subnet}.1", hosts

    def __exit__(self, *_exc) -> None:
        for kind, name in reversed(self._made):
            subprocess.run(["ip", kind, "del", name], capture_output=True, timeout=20)
        self._made = []


class Host:
    """One host: its address, its empty DATA_DIR, its web server and its worker."""

    def __init__(self, name: str, root: Path, address: str, prefix: list[str], env: dict):
        self.name, self.address, self.data = name, address, root / f"host{name}"
        self.web = LiveServer(self.data, command=[*prefix, *GUNICORN], host=address, **env)
        self.worker = Worker(self.data, command=[*prefix, *WORKER], **env)


def messages(frame: dict) -> list[dict]:
    return frame.get("messages", [frame])


def retail_batch(sim: RetailSimulator, count: int, spike: bool = False) -> list[dict]:
    batch = [dict(sim.next_event(), event_id=uuid.uuid4().hex) for _ in range(count)]
    if spike:
        batch[count // 2]["weekly_sales"] *= 15
    return batch


def test_two_hosts_share_only_the_database_redis_and_the_secret_key(tmp_path, record_property):
    bin_dir = pg_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) are not installed: tests/run.sh installs Debian's postgresql")
    began = time.monotonic()
    with Network() as net:
        record_property("network", net.mode)
        record_property("network_note", net.note)
        print(f"\nnetwork: {net.mode} {net.note}".rstrip())
        pg = PostgresCluster(bin_dir, host=net.server)
        redis_srv = RedisServer(tmp_path / "redis", host=net.server)
        hosts = {}
        try:
            pg.start()
            redis_srv.start()
            env = dict(REDIS_URL=redis_srv.url, DATABASE_URL=pg.new_database(), SECRET_KEY="two-hosts-secret",
                       SIMULATOR="off", MARKET_FEED="off", WEB_CONCURRENCY=1, WS_SESSION_CHECK=SESSION_CHECK,
                       KPI_WINDOW_SECONDS=3600)
            hosts = {name: Host(name, tmp_path, *net.hosts[name], env) for name in "AB"}
            a, b = hosts["A"], hosts["B"]
            with ThreadPoolExecutor(3) as pool:                 # host A's worker joins later
                list(pool.map(lambda start: start(timeout=STARTUP), (a.web.start, b.web.start, b.worker.start)))
            started = time.monotonic() - began
            two_hosts(a, b, redis.Redis.from_url(redis_srv.url), env["DATABASE_URL"], tmp_path)
            for host in (a, b):
                assert not (host.data / "pulseboard.db").exists() and not (host.data / "secret_key").exists(), \
                    f"host {host.name} kept a database or a key in its DATA_DIR"
            print(f"two hosts ({net.mode}): processes up {started:.1f} s after the start, "
                  f"all done in {time.monotonic() - began:.1f} s")
        finally:
            for host in hosts.values():
                host.worker.stop()
                host.web.stop()
            redis_srv.stop()
            pg.stop()


def two_hosts(a: Host, b: Host, client: redis.Redis, database_url: str, tmp_path: Path):
    """The five checks of issue 12 (and A's worker taking over), on two started hosts."""
    def worker_stats(host: Host) -> dict:
        raw = client.hget(KEYS.stats("workers"), host.worker.name)
        return json.loads(raw) if raw else {}

    def events_counted(host: Host, session) -> int:
        return session.get(host.web.url + "/api/live-data", timeout=10).json()["kpis"]["event_count"]

    # 1. a user created on host A signs in on host B
    admin_a, admin_b = a.web.session(), b.web.session()
    r = admin_a.post(a.web.url + "/api/v1/admin/users", json={"username": "ann", "password": ANN_PASSWORD,
                                                              "role": "analyst"})
    assert r.status_code == 201, f"creating ann on A: {r.status_code} {r.text}"
    ann_id = r.json()["id"]
    ann_b = b.web.session("ann", ANN_PASSWORD)
    assert ann_b.get(b.web.url + "/api/alerts").status_code == 200, "ann, created on A, is not signed in on B"

    # 2. an API key made on host A ingests on host B; B's worker (the only one yet) processes the events
    r = admin_a.post(a.web.url + "/api/v1/keys", json={"name": "two-hosts"})
    assert r.status_code == 201, f"creating a key on A: {r.status_code} {r.text}"
    key = {"X-API-Key": r.json()["key"]}
    sim = RetailSimulator(seed=5, anomaly_rate=0.0, unique_ids=True)
    for _ in range(WARM_UP_EVENTS // 200):
        r = requests.post(b.web.url + "/api/v1/iot", json=retail_batch(sim, 200), headers=key, timeout=10)
        assert r.status_code == 202 and r.json()["accepted"] == 200, f"A's key on B: {r.status_code} {r.text}"
    wait_for(lambda: events_counted(b, admin_b) == WARM_UP_EVENTS, 60, "B's API to count the events posted to B")
    wait_for(lambda: worker_stats(b).get("processed") == WARM_UP_EVENTS, 10, "B's worker to report the events")
    with psycopg.connect(database_url.replace("postgresql+psycopg", "postgresql")) as conn:
        pg_peers = {row[0] for row in conn.execute(
            "SELECT DISTINCT host(client_addr) FROM pg_stat_activity WHERE client_addr IS NOT NULL")}
    redis_peers = {c["addr"].rsplit(":", 1)[0] for c in client.client_list()}
    assert {a.address, b.address} <= pg_peers, f"PostgreSQL's clients {pg_peers}"
    assert {a.address, b.address} <= redis_peers, f"Redis's clients {redis_peers}"

    # 3. an alert raised by B's worker is acknowledged on A; a socket on B sees the change
    spikes, posted = set(), [WARM_UP_EVENTS]

    def spike_alerted():
        batch = retail_batch(sim, 20, spike=True)
        r = requests.post(a.web.url + "/api/v1/iot", json=batch, headers=key, timeout=10)
        assert r.status_code == 202, f"posting a spike to A: {r.status_code} {r.text}"
        spikes.add(batch[len(batch) // 2]["event_id"])
        posted[0] += 20
        return [alert for alert in alerts_of(admin_a, a.web, limit=500) if alert["event_id"] in spikes]
    alert = wait_for(spike_alerted, 30, "an alert for a sales spike")[-1]
    assert alert["status"] == "open", alert
    wait_for(lambda: events_counted(b, admin_b) == posted[0], 30, "every spike batch to be processed")
    assert a.worker.proc is None, "A's worker ran"
    wait_for(lambda: worker_stats(b).get("alerts") == len(alerts_of(admin_a, a.web, limit=500)), 10,
             "B's worker to report every stored alert as its own")
    ws_b = b.web.ws(ann_b)
    recv_json(ws_b)
    ws_b.send(json.dumps({"type": "subscribe", "channels": ["alerts"]}))
    recv_until(ws_b, lambda m: m["type"] == "subscribed")
    r = act(admin_a, a.web, alert["id"], "acknowledge")
    assert r.status_code == 200 and r.json()["status"] == "acknowledged", f"acknowledging on A: {r.text}"

    def acknowledged(frame):
        return any(m["type"] == "alert_update" and m["alert"]["id"] == alert["id"]
                   and m["alert"]["status"] == "acknowledged" and m["alert"]["acknowledged_by"] == "admin"
                   for m in messages(frame))
    recv_until(ws_b, acknowledged, timeout=10)

    # host A's worker takes over from B's: the events posted now are processed on A
    a.worker.start(timeout=STARTUP)
    b.worker.stop()
    r = requests.post(b.web.url + "/api/v1/iot", json=retail_batch(sim, 200), headers=key, timeout=10)
    assert r.status_code == 202, r.text
    wait_for(lambda: worker_stats(a).get("processed") == 200, 30, "A's worker to process the events posted to B")
    wait_for(lambda: events_counted(a, admin_a) == posted[0] + 200, 15, "A's API to count them (A's worker leads)")

    # 4. a CSV uploaded on host A is listed, analysed and exported on host B
    ann_a = a.web.session("ann", ANN_PASSWORD)
    r = ann_a.post(a.web.url + "/api/v1/uploads", params={"name": "stores.csv"}, data=RETAIL.encode(),
                   headers={"Content-Type": "text/csv"})
    assert r.status_code == 201 and r.json()["rows"] == 54, f"uploading on A: {r.status_code} {r.text}"
    upload_id = r.json()["id"]
    listed = ann_b.get(b.web.url + "/api/v1/uploads").json()["uploads"]
    assert [u["id"] for u in listed] == [upload_id], f"B lists {listed}"
    chosen = {"analysis-select.value": upload_id}
    r = dash_callback(ann_b, b.web, "analysis-kpi-average.children", "analysis-select.value", chosen)
    assert r.status_code == 200, f"analysing on B: {r.status_code} {r.text[:500]}"
    assert r.json()["response"]["analysis-kpi-count"]["children"] == "54", r.json()["response"]
    r = dash_callback(ann_b, b.web, "analysis-download.data", "analysis-export-rows.n_clicks", chosen)
    assert r.status_code == 200, f"exporting on B: {r.status_code} {r.text[:500]}"
    exported = r.json()["response"]["analysis-download"]["data"]
    source = tmp_path / "stores.csv"
    source.write_text(RETAIL)
    parsed = load_csv(source)
    written = export_rows_csv(apply_filters(parsed.df, parsed.mapping), parsed.raw)    # cells as the file wrote them
    assert exported["content"] == written, exported["content"][:300]
    assert exported["content"].count("\r\n") == 55 and exported["filename"] == "pulseboard-rows.csv"

    # 5. disabling ann on host A closes her socket on host B within WS_SESSION_CHECK
    asked = time.monotonic()
    r = admin_a.patch(a.web.url + f"/api/v1/admin/users/{ann_id}", json={"active": False})
    assert r.status_code == 200 and r.json()["active"] is False, f"disabling ann on A: {r.text}"
    code, reason, _seen = close_frame(ws_b, timeout=SESSION_CHECK + 10)
    closed = time.monotonic() - asked
    assert (code, reason) == (4003, "account disabled"), (code, reason)
    assert closed <= SESSION_CHECK + 2, f"B's socket closed {closed:.2f} s after the disable on A"
    assert ann_b.get(b.web.url + "/api/alerts").status_code == 401, "ann's session on B outlived the disable"
    print(f"alert {alert['id']} raised by B's worker after {len(spikes)} spike posts; "
          f"ann's socket on B closed {closed:.2f} s after the disable on A")
