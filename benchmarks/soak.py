"""The soak: an operator's worst day, against the product's own sandbox, with the hub as processes.

The sandbox (``build_sandbox``: three emulated marketplaces, Shopify, Supercycle) is served by
uvicorn in a thread of this script, not as a ``mirakl-sync sandbox`` process, so the soak can
read the emulators' state directly (the truth: no API budget spent, nothing the hub could
have skewed), read the warehouse actor's log, and turn the faults off for the drain. The hub
is the real CLI: one ``mirakl-sync run`` subprocess on SQLite, or with ``--postgres`` a
``run`` and two ``mirakl-sync worker`` processes on a fresh PostgreSQL database (created on
``MIRAKL_SYNC_TEST_POSTGRES_URL``, default 127.0.0.1:5432 db ``test``, dropped afterwards).
The hub's config is the demo's (``entrypoints.demo.demo_config``: a tenth of Mirakl's Call
Frequency periods on both sides, webhooks subscribed to the hub's status-page port).

What happens, in order:

1. traffic: the sandbox's customers (``start_traffic``) place ``--orders-per-hour`` orders
   over the three marketplaces; the warehouse actor fulfils, cancels and refunds the hub's
   shop orders, a share of them the moment the shop order appears (``early_share``:
   usually before the hub accepted on Mirakl). Every emulator answers 15% of requests 500,
   hangs 5% (30 s), and loses the reply of 3% of the writes that landed. At random moments
   every 15-60 s the soak SIGKILLs ``run`` (with ``--postgres``, sometimes a worker instead,
   left dead up to 2 minutes) and restarts it.
2. drain: customers stop, faults and kills off, the warehouse finishes what it had in
   hand; the hub runs until nothing the soak counts changes for ``quiet`` seconds, no
   order waits acceptance, both safety-net passes have read the shop feed to its latest
   change and the hub keeps no waiting record (or ``drain_max`` passes), then is stopped.
3. the truth (``soak_truth``): counts and every anomaly with its order id, as JSON on
   stdout (and ``--out FILE``). Exit 1 on any failing anomaly (``soak_truth.FAILING``).

``--quick`` (CI): SQLite, a fixed seed, 2 minutes of traffic at the same rate, kills every
15-40 s, hangs of 10 s, the marketplaces' acceptance window shortened to 240 s (the
emulator's ``acceptance_window_seconds``, the hub told the same), a drain of at most 180 s.

    python benchmarks/soak.py [--quick] [--postgres] [--minutes M] [--out FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
import uvicorn
from soak_truth import FAILING, Anomaly, fingerprint, tally, waiting_acceptance

from mirakl_sync.config import SandboxSettings, load_settings
from mirakl_sync.entrypoints.demo import DEMO_ORDER_POLL_SECONDS, TIME_COMPRESSION, demo_config
from mirakl_sync.sandbox.faults import InjectedFault
from mirakl_sync.sandbox.fulfilment import ActorSettings, FulfilmentActor
from mirakl_sync.sandbox.mirakl.app import CallRecord
from mirakl_sync.sandbox.server import MARKETPLACES, Sandbox, build_sandbox, start_traffic
from mirakl_sync.workflows.engine import system_database_url_for

EXECUTABLE = Path(sys.executable).with_name("mirakl-sync")
POSTGRES_ADMIN_URL = os.environ.get(
    "MIRAKL_SYNC_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@dataclass(frozen=True)
class Profile:
    traffic_seconds: float
    orders_per_hour: float = 2000.0
    error_rate: float = 0.15
    timeout_rate: float = 0.05
    hang_seconds: float = 30.0
    lost_reply_rate: float = 0.03
    kill_every: tuple[float, float] = (15.0, 60.0)
    #: With workers: share of kills that hit a worker, and how long it may stay dead.
    worker_kill_share: float = 0.4
    worker_dead_max: float = 120.0
    acceptance_window_seconds: float = 600.0
    #: A restart's pulls count as late past this (one pull period of the hub's config).
    poll_period_seconds: float = DEMO_ORDER_POLL_SECONDS
    #: The OR11 budget's interval (once a minute on the compressed clock): a failed or
    #: answered pull holds the next one back this long.
    or11_interval_seconds: float = 60 * TIME_COMPRESSION
    drain_max: float = 900.0
    quiet: float = 60.0
    sample_every: float = 10.0
    early_share: float = 0.1
    seed: int = 42
    products: int = 120


def quick_profile() -> Profile:
    return Profile(
        traffic_seconds=120.0,
        kill_every=(15.0, 40.0),
        hang_seconds=10.0,
        acceptance_window_seconds=240.0,
        drain_max=180.0,
        # Longer than one safety-net period on the demo's clock (30 s) and than a
        # dispatch's retry back-off, so a pass or a sleeping retry still due is waited for.
        quiet=40.0,
        sample_every=5.0,
        early_share=0.15,
        products=60,
    )


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ----------------------------------------------------------------------------- the processes


class Processes:
    """The hub's processes: started, SIGKILLed and restarted by name, logs appended."""

    def __init__(self, directory: Path, config: Path) -> None:
        self.directory = directory
        self.config = config
        self.running: dict[str, subprocess.Popen[bytes]] = {}
        self.env = {k: v for k, v in os.environ.items() if k != "MIRAKL_SYNC_CONFIG"}
        self.env["PYTHONUNBUFFERED"] = "1"

    def argv(self, name: str) -> list[str]:
        if name == "run":
            return [str(EXECUTABLE), "run", "--config", str(self.config)]
        return [str(EXECUTABLE), "worker", "--config", str(self.config), "--executor-id", name]

    def start(self, name: str) -> None:
        with (self.directory / f"{name}.log").open("ab") as log:
            self.running[name] = subprocess.Popen(
                self.argv(name), stdout=log, stderr=subprocess.STDOUT, env=self.env
            )

    def alive(self, name: str) -> bool:
        process = self.running.get(name)
        return process is not None and process.poll() is None

    def kill(self, name: str) -> None:
        process = self.running.pop(name, None)
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=30)

    def stop(self, name: str, grace: float = 30.0) -> float | None:
        """SIGTERM; the seconds it took to exit (None: killed after ``grace``)."""
        process = self.running.pop(name, None)
        if process is None or process.poll() is not None:
            return 0.0
        began = time.monotonic()
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace)
            return round(time.monotonic() - began, 1)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
            return None

    def log_tail(self, name: str, lines: int = 20) -> str:
        path = self.directory / f"{name}.log"
        if not path.exists():
            return ""
        text = path.read_text(encoding="utf-8", errors="replace").splitlines()
        return "\n".join(text[-lines:])


@contextlib.contextmanager
def hub_database(postgres: bool, directory: Path, *, keep: bool = False) -> Iterator[str]:
    """A fresh hub database per run: a SQLite file, or a new PostgreSQL database (left in
    place with ``keep``, to look into an anomaly's rows afterwards)."""
    if not postgres:
        yield f"sqlite:///{directory / 'hub.db'}"
        return
    name = f"mirakl_sync_soak_{os.getpid()}_{int(time.time())}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        if not keep:
            with admin.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def write_config(directory: Path, profile: Profile, database_url: str, sandbox_port: int) -> Path:
    """The demo's hub config, on this run's database, told the sandbox's acceptance window."""
    text = demo_config(
        directory,
        port=_port(),
        sandbox_port=sandbox_port,
        orders_per_hour=profile.orders_per_hour,
    )
    lines = []
    for line in text.splitlines():
        if line.startswith("database_url ="):
            line = f'database_url = "{database_url}"'
        elif line.startswith("acceptance_window_hours ="):
            line = f"acceptance_window_hours = {profile.acceptance_window_seconds / 3600!r}"
        lines.append(line)
    lines += ["", "[logging]", 'level = "WARNING"', ""]
    path = directory / "mirakl-sync.toml"
    path.write_text("\n".join(lines))
    return path


def web_port(config: Path) -> int:
    for line in config.read_text().splitlines():
        if line.startswith("public_url ="):
            return int(line.rsplit(":", 1)[1].strip('"'))
    raise RuntimeError("no [web] public_url in the soak's config")


def pull_queue_sample(system_db: sa.Engine, at: float) -> dict[str, Any]:
    """Each marketplace's pull queue as the engine holds it: how many pulls wait
    (ENQUEUED) and run (PENDING), since when the oldest waits, and who runs them. A queue
    whose oldest waiting pull grows old while nothing of it runs is a stalled queue."""
    out: dict[str, Any] = {}
    # DBOS keeps its tables in a "dbos" schema on PostgreSQL.
    table = "dbos.workflow_status" if system_db.dialect.name == "postgresql" else "workflow_status"
    with system_db.connect() as connection:
        rows = connection.execute(
            sa.text(
                f"SELECT queue_name, status, created_at, executor_id FROM {table} "
                "WHERE queue_name LIKE 'orders-pull:%' AND status IN ('ENQUEUED', 'PENDING')"
            )
        ).all()
    for queue, status, created_at, executor in rows:
        entry = out.setdefault(
            queue.split(":", 1)[1], {"waiting": 0, "running": 0, "oldest_wait_s": 0.0, "by": []}
        )
        if status == "ENQUEUED":
            entry["waiting"] += 1
            entry["oldest_wait_s"] = max(entry["oldest_wait_s"], round(at - created_at / 1000, 1))
        else:
            entry["running"] += 1
            entry["by"].append(executor)
    return out


# ----------------------------------------------------------------------------- the hub's view


def hub_view(
    database_url: str,
) -> tuple[dict[str, float], dict[str, list[str]], dict[str, list[str]]]:
    """When the hub first stored each order, the exception types it recorded per order,
    and why it refused each refused order's lines (its stored decisions' ``refusals``)."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            seen = {
                str(order_id): _epoch(first_seen)
                for order_id, first_seen in connection.execute(
                    sa.text("SELECT order_id, first_seen_at FROM marketplace_orders")
                )
            }
            exceptions: dict[str, list[str]] = {}
            for r in connection.execute(sa.text("SELECT entity_id, type FROM exceptions")):
                exceptions.setdefault(str(r[0]), []).append(str(r[1]))
            refusals: dict[str, list[str]] = {}
            for order_id, decisions in connection.execute(
                sa.text("SELECT order_id, decisions FROM marketplace_orders")
            ):
                data = json.loads(decisions) if isinstance(decisions, str) else decisions
                reasons = sorted(set(((data or {}).get("refusals") or {}).values()))
                if reasons:
                    refusals[str(order_id)] = reasons
        return seen, exceptions, refusals
    finally:
        engine.dispose()


def feed_lag(database_url: str, sandbox: Sandbox) -> dict[str, float | None]:
    """Per safety-net pass (``shipments``, ``refunds``): how far its shop-feed cursor is
    behind the latest change of a marketplace order's shop order, in seconds (0: caught
    up; None: no cursor yet). A drain is not over while a pass has changes left to read:
    before, the drain ended while the passes were still re-reading old pages."""
    orders = list(sandbox.shopify.data.orders.values())
    stamps = [_epoch(o.updated_at) for o in orders if o.source_identifier]
    latest = max(stamps, default=0.0)
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = dict(
                connection.execute(
                    sa.text("SELECT scope, cursor FROM sync_cursors WHERE flow = 'shop-changes'")
                ).all()
            )
    finally:
        engine.dispose()
    return {
        scope: None if rows.get(scope) is None else round(max(0.0, latest - _epoch(rows[scope])), 1)
        for scope in ("shipments", "refunds")
    }


def open_waiting(database_url: str) -> int:
    """The hub's open waiting records (``shipment_waiting``, ``refund_waiting``,
    ``cancel_waiting``: work Mirakl cannot take yet, or a refund held for its shipment),
    which a later pass sends; a drain is not over while there are any."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            return int(
                connection.execute(
                    sa.text(
                        "SELECT count(*) FROM exceptions WHERE status = 'open' AND type IN "
                        "('shipment_waiting', 'refund_waiting', 'cancel_waiting')"
                    )
                ).scalar_one()
            )
    finally:
        engine.dispose()


def _epoch(value: Any) -> float:
    """A stored UTC time as epoch seconds (SQLite hands back naive text, PostgreSQL aware)."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


# ----------------------------------------------------------------------------- one soak


class Soak:
    def __init__(
        self, profile: Profile, postgres: bool, directory: Path, *, keep: bool = False
    ) -> None:
        self.profile = profile
        self.postgres = postgres
        self.directory = directory
        self.keep = keep
        self.database_url = ""
        self.rng = random.Random(profile.seed)
        self.started = time.time()
        self.backlog: list[tuple[float, int]] = []
        self.pull_queues: list[tuple[float, dict[str, Any]]] = []
        self.system_db: sa.Engine | None = None
        self.restarts: list[dict[str, Any]] = []
        self.kills: Counter[str] = Counter()
        self.dead_until: dict[str, float] = {}

    def offset(self) -> float:
        return round(time.time() - self.started, 1)

    def serve_sandbox(self) -> tuple[Sandbox, uvicorn.Server, int]:
        p = self.profile
        settings = SandboxSettings(
            orders_per_hour=p.orders_per_hour,
            error_rate=p.error_rate,
            timeout_rate=p.timeout_rate,
            timeout_seconds=p.hang_seconds,
            lost_reply_rate=p.lost_reply_rate,
            acceptance_window_seconds=p.acceptance_window_seconds,
            call_frequency_scale=TIME_COMPRESSION,
            products=p.products,
            seed=p.seed,
        )
        sandbox = build_sandbox(settings)
        port = _port()
        server = uvicorn.Server(
            uvicorn.Config(sandbox.app, host="127.0.0.1", port=port, log_level="critical")
        )
        # A killed hub leaves requests half-read: uvicorn would print each traceback.
        threading.Thread(target=server.run, name="soak-sandbox", daemon=True).start()
        deadline = time.monotonic() + 60
        while not server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the sandbox did not start in 60 s")
            time.sleep(0.05)
        return sandbox, server, port

    def names(self) -> list[str]:
        return ["run", "soak-w1", "soak-w2"] if self.postgres else ["run"]

    def kill_one(self, procs: Processes) -> None:
        p = self.profile
        workers = [n for n in self.names() if n != "run" and procs.alive(n)]
        if workers and self.rng.random() < p.worker_kill_share:
            name = self.rng.choice(workers)
            dead_for = self.rng.uniform(0, p.worker_dead_max)
        else:
            name, dead_for = "run", 0.0
        procs.kill(name)
        self.kills[name] += 1
        self.dead_until[name] = time.time() + dead_for
        if dead_for == 0:
            self.restart(procs, name, killed_at=time.time())
        else:
            self.restarts.append({"process": name, "killed_at": self.offset(), "_pending": True})

    def restart(self, procs: Processes, name: str, *, killed_at: float) -> None:
        procs.start(name)
        now = time.time()
        self.restarts.append(
            {
                "process": name,
                "killed_at": round(killed_at - self.started, 1),
                "restarted_at": round(now - self.started, 1),
                "_at": now,
                "_up": None if name == "run" else now,
            }
        )

    def watch_up(self, status_page: str) -> None:
        """Note when a restarted ``run`` serves its status page again (webhooks land)."""
        for restart in self.restarts:
            if restart.get("_at") is not None and restart.get("_up") is None:
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(status_page, timeout=0.3).status_code < 500:
                        restart["_up"] = time.time()
                        restart["up_after_s"] = round(restart["_up"] - restart["_at"], 1)

    def down(self) -> list[tuple[float, float]]:
        """When ``run`` could not take a webhook: from each kill until it served again."""
        out = []
        for r in self.restarts:
            if r["process"] == "run" and r.get("_at") is not None:
                out.append((self.started + r["killed_at"], r.get("_up") or float("inf")))
        return out

    def revive(self, procs: Processes, *, all_now: bool = False) -> None:
        for name in self.names():
            if procs.alive(name):
                continue
            if all_now or time.time() >= self.dead_until.get(name, 0.0):
                pending = next(
                    (r for r in self.restarts if r.get("_pending") and r["process"] == name),
                    None,
                )
                if pending is not None:
                    self.restarts.remove(pending)
                    self.restart(procs, name, killed_at=self.started + pending["killed_at"])
                else:
                    self.restart(procs, name, killed_at=time.time())

    def sample(self, sandbox: Sandbox, last: float) -> float:
        if time.time() - last >= self.profile.sample_every:
            self.backlog.append((self.offset(), waiting_acceptance(sandbox)))
            if self.system_db is not None:
                with contextlib.suppress(sa.exc.SQLAlchemyError):
                    sample = pull_queue_sample(self.system_db, time.time())
                    self.pull_queues.append((self.offset(), sample))
            return time.time()
        return last

    def run(self) -> dict[str, Any]:
        p = self.profile
        sandbox, server, sandbox_port = self.serve_sandbox()
        with hub_database(self.postgres, self.directory, keep=self.keep) as url:
            self.database_url = url
            config = write_config(self.directory, p, url, sandbox_port)
            self.system_db = sa.create_engine(system_database_url_for(load_settings(config)))
            procs = Processes(self.directory, config)
            customers, warehouse = threading.Event(), threading.Event()
            actor = FulfilmentActor(
                sandbox,
                ActorSettings(
                    delay_seconds=20.0,
                    cancel_share=0.06,
                    refund_share=0.08,
                    early_share=p.early_share,
                    seed=p.seed,
                ),
            )
            try:
                if self.postgres:
                    # The hub migrates; workers never do, so they start after it is up.
                    procs.start("run")
                    self._wait_up(procs, config)
                    procs.start("soak-w1")
                    procs.start("soak-w2")
                else:
                    procs.start("run")
                    self._wait_up(procs, config)
                status_page = f"http://127.0.0.1:{web_port(config)}/"
                self.started = time.time()
                start_traffic(
                    sandbox,
                    customers,
                    actor=actor,
                    actor_stop=warehouse,
                    actor_interval_seconds=1.0,
                )
                last_sample = 0.0
                next_kill = time.time() + self.rng.uniform(*p.kill_every)
                end = self.started + p.traffic_seconds
                while time.time() < end:
                    time.sleep(0.5)
                    last_sample = self.sample(sandbox, last_sample)
                    if time.time() >= next_kill:
                        self.kill_one(procs)
                        next_kill = time.time() + self.rng.uniform(*p.kill_every)
                    self.revive(procs)
                    self.watch_up(status_page)
                traffic_end = time.time()
                # ---- drain: customers, faults and kills off; the warehouse goes on.
                customers.set()
                sandbox.set_faults(error_rate=0.0, timeout_rate=0.0, lost_reply_rate=0.0)
                self.revive(procs, all_now=True)
                drained = self._drain(sandbox, actor, last_sample, status_page, url)
                warehouse.set()
                stops = {name: procs.stop(name) for name in self.names()}
            finally:
                customers.set()
                warehouse.set()
                for name in list(procs.running):
                    procs.kill(name)
            tails = {name: procs.log_tail(name, 5) for name in self.names()}
            seen, exceptions, refusals = hub_view(url)
            self.system_db.dispose()
        if self.keep:
            self._keep_call_logs(sandbox)
        result = self._report(
            sandbox, actor, seen, exceptions, refusals, traffic_end, drained, stops, tails
        )
        server.should_exit = True
        return result

    def _wait_up(self, procs: Processes, config: Path) -> None:
        url = f"http://127.0.0.1:{web_port(config)}/"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if not procs.alive("run"):
                raise RuntimeError(f"run exited at start:\n{procs.log_tail('run', 40)}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=2).status_code < 500:
                    return
            time.sleep(0.3)
        raise RuntimeError(f"run did not serve its status page in 120 s:\n{procs.log_tail('run')}")

    def _drain(
        self,
        sandbox: Sandbox,
        actor: FulfilmentActor,
        last_sample: float,
        status_page: str,
        database_url: str,
    ) -> dict[str, Any]:
        """Until nothing the soak counts changed for ``quiet`` seconds, no order waits
        acceptance, the warehouse has nothing in hand, both safety-net passes read the
        shop feed up to its latest change and the hub keeps no waiting record (or
        ``drain_max``)."""
        p = self.profile
        began = time.time()
        last_change = began
        previous = fingerprint(sandbox)
        settled = False
        lag: dict[str, float | None] = {}
        while time.time() - began < p.drain_max:
            time.sleep(2.0)
            last_sample = self.sample(sandbox, last_sample)
            self.watch_up(status_page)
            now_print = fingerprint(sandbox)
            if now_print != previous:
                previous, last_change = now_print, time.time()
            quiet_for = time.time() - last_change
            if quiet_for >= p.quiet and not actor.waiting and not waiting_acceptance(sandbox):
                lag = feed_lag(database_url, sandbox)
                caught_up = all(value is not None and value <= 1.0 for value in lag.values())
                if caught_up and open_waiting(database_url) == 0:
                    settled = True
                    break
        return {
            "seconds": round(time.time() - began, 1),
            "settled": settled,
            "max_seconds": p.drain_max,
            "quiet_seconds": p.quiet,
            # Seconds each pass's feed cursor was behind the shop's latest change at the end.
            "feed_lag_s": lag or feed_lag(database_url, sandbox),
        }

    def _when(self, sandbox: Sandbox, anomalies: list[Anomaly]) -> None:
        """Add to each loss when its Shopify event happened and whether ``run`` was down
        then (its webhook had nowhere to land; only the safety-net polls can find it)."""
        down = self.down()
        by_source: dict[str, list[Any]] = {}
        data = sandbox.shopify.data
        for order in list(data.orders.values()):
            by_source.setdefault(order.source_identifier or "", []).append(order)
        for anomaly in anomalies:
            if anomaly.kind not in ("shipment_lost", "cancellation_lost", "refund_lost"):
                continue
            stamps: list[str] = []
            for order in by_source.get(anomaly.order, []):
                if anomaly.kind == "shipment_lost":
                    stamps += [data.fulfillments[f].created_at for f in order.fulfillment_ids]
                elif anomaly.kind == "refund_lost":
                    stamps += [data.refunds[r].created_at for r in order.refund_ids]
                elif order.cancelled_at:
                    stamps.append(order.cancelled_at)
            for stamp in stamps:
                at = _epoch(stamp)
                hub_down = any(start <= at <= end for start, end in down)
                # Shopify sends its webhook a moment later: a kill right after the event
                # may have caught the webhook too.
                next_kill = min((start - at for start, _ in down if start >= at), default=None)
                if hub_down:
                    when = "while run was down"
                elif next_kill is not None and next_kill <= 5.0:
                    when = f"run killed {next_kill:.1f} s later"
                else:
                    when = "run was up"
                anomaly.detail += f"; in Shopify at +{at - self.started:.1f} s ({when})"

    def _keep_call_logs(self, sandbox: Sandbox) -> None:
        """The Mirakl emulator's call log, its injected faults and the restarts, as JSON
        lines in the work directory, to measure a restart again after the run."""
        with (self.directory / "mirakl-calls.jsonl").open("w") as out:
            for record in list(sandbox.mirakl.request_log):
                out.write(json.dumps(asdict(record)) + "\n")
        with (self.directory / "mirakl-faults.jsonl").open("w") as out:
            for fault in list(sandbox.faults["mirakl"].fault_log):
                out.write(json.dumps(asdict(fault)) + "\n")
        with (self.directory / "restarts.jsonl").open("w") as out:
            for restart in self.restarts:
                out.write(json.dumps(restart, default=str) + "\n")

    def _pulled_again(self, sandbox: Sandbox) -> list[dict[str, Any]]:
        """For each restart: seconds until every marketplace answered an OR11 again; how
        long until the hub made its first Mirakl call at all (its boot, which the
        compressed clock does not shorten); and the faults injected into each
        marketplace's OR11 calls meanwhile (each failed OR11 costs the pull its next
        once-a-minute slot, so such a restart cannot be within one period)."""
        every_request = list(sandbox.mirakl.request_log)
        # Pulls only: OR11 by ``order_ids`` (the synchronous reads) is not a pull.
        pulls = [r for r in every_request if r.op_id == "OR11" and r.budget == "OR11"]
        faults = list(sandbox.faults["mirakl"].fault_log)
        hangs = [f for f in faults if f.kind == "hang"]
        interval = self.profile.or11_interval_seconds
        out = []
        for restart in sorted(self.restarts, key=lambda r: r.get("_at", 0.0)):
            at = restart.get("_at")
            entry = {k: v for k, v in restart.items() if not k.startswith("_")}
            if at is None:
                entry["all_pulled_after_s"] = None
                out.append(entry)
                continue
            # A request the killed process made that hung reaches the emulator a hang
            # later, after the restart: it is not the new process's call (it made the
            # restart look pulled at once, and its boot look short).
            hang = self.profile.hang_seconds
            zombies = [f for f in hangs if at - hang - HANG_LANDING_SLACK_S <= f.at < at]
            requests = [
                r
                for r in every_request
                if r.at >= at and not _landed_after_hang(r, zombies, hang=hang)
            ]
            log = [
                r for r in requests if r.op_id == "OR11" and r.budget == "OR11" and r.status == 200
            ]
            first_call = min(
                [r.at for r in requests] + [f.at for f in faults if f.at >= at],
                default=None,
            )
            entry["first_call_after_s"] = None if first_call is None else round(first_call - at, 1)
            per_market: dict[str, float | None] = {}
            beyond: dict[str, float | None] = {}
            or11_faults: dict[str, list[str]] = {}
            booted = at + (entry["first_call_after_s"] or 0.0)
            for market in MARKETPLACES:
                first = next((r.at for r in log if r.market == market.code and r.at >= at), None)
                per_market[market.code] = None if first is None else round(first - at, 1)
                until = first if first is not None else math.inf
                pull_faults = [
                    f
                    for f in faults
                    if f.method == "GET"
                    and f.path.endswith(f"/{market.code}/api/orders")
                    and "order_ids" not in f.query
                ]
                or11_faults[market.code] = [f.kind for f in pull_faults if at <= f.at <= until]
                # The pull the killed process made last (answered or not) holds the shared
                # once-a-minute budget: the next one may not start before a minute after it.
                attempts = [r.at for r in pulls if r.market == market.code and r.at < at]
                attempts += [f.at for f in pull_faults if f.at < at]
                slot = max(attempts, default=-math.inf) + interval
                beyond[market.code] = None if first is None else round(first - max(booted, slot), 1)
            values = list(per_market.values())
            entry["per_marketplace_s"] = per_market
            entry["beyond_slot_per_marketplace_s"] = beyond
            entry["or11_faults"] = {m: k for m, k in or11_faults.items() if k}
            entry["all_pulled_after_s"] = None if None in values else max(v or 0 for v in values)
            # From the later of the hub's boot and the marketplace's next free OR11 slot.
            entry["beyond_slot_s"] = (
                None if None in beyond.values() else max(v or 0 for v in beyond.values())
            )
            out.append(entry)
        return out

    def _report(
        self,
        sandbox: Sandbox,
        actor: FulfilmentActor,
        seen: dict[str, float],
        exceptions: dict[str, list[str]],
        refusals: dict[str, list[str]],
        traffic_end: float,
        drained: dict[str, Any],
        stops: dict[str, float | None],
        tails: dict[str, str],
    ) -> dict[str, Any]:
        p = self.profile
        returns = _supercycle_return_orders(sandbox, actor)
        figures, anomalies = tally(
            sandbox,
            before_acceptance=actor.before_acceptance,
            supercycle_returns=returns,
            hub_first_seen=seen,
            hub_exceptions=exceptions,
            hub_refusals=refusals,
            window_seconds=p.acceptance_window_seconds,
            seen_margin_seconds=min(60.0, p.acceptance_window_seconds / 4),
        )
        self._when(sandbox, anomalies)
        restarts = self._pulled_again(sandbox)
        pulled = [r["all_pulled_after_s"] for r in restarts if r.get("process") == "run"]
        measured = sorted(v for v in pulled if v is not None)
        requests = list(sandbox.mirakl.request_log)
        throttled = Counter(f"{r.market}/{r.op_id}" for r in requests if r.status == 429)
        failing = Counter(a.kind for a in anomalies if a.kind in FAILING)
        return {
            "profile": asdict(p),
            "database": "postgresql (run + 2 workers)" if self.postgres else "sqlite (run)",
            "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
            "traffic_seconds": round(traffic_end - self.started, 1),
            "drain": drained,
            **figures,
            "backlog": [list(s) for s in self.backlog],
            "pull_queues": {
                "longest_wait_s": {
                    market: max(
                        (q.get(market, {}).get("oldest_wait_s", 0.0) for _, q in self.pull_queues),
                        default=0.0,
                    )
                    for market in {m for _, q in self.pull_queues for m in q}
                },
                "samples": [list(s) for s in self.pull_queues],
            },
            "kills": dict(self.kills),
            "restarts": restarts,
            "restart_to_all_pulled_s": {
                "count": len(pulled),
                "measured": len(measured),
                "median": measured[len(measured) // 2] if measured else None,
                "max": measured[-1] if measured else None,
                "over_one_poll_period": sum(1 for v in measured if v > p.poll_period_seconds),
                # Which faults the late restarts' OR11 pulls met ("none": the hub's own).
                "over_by_or11_fault": _late_by_fault(restarts, p.poll_period_seconds),
                "never": len(pulled) - len(measured),
                # The hub's part: from its first Mirakl call after the restart (boot done).
                "after_boot": _after_boot(restarts, p.poll_period_seconds),
            },
            "lost_replies": {name: f.lost_replies for name, f in sandbox.faults.items()},
            "http_429": {
                "mirakl": dict(throttled),
                "shopify_throttled": sandbox.shopify.throttled_count,
            },
            "warehouse": dict(Counter(f.split(" ")[0] for _, f in actor.log)),
            "stop_seconds": stops,
            "anomalies": [a.to_json() for a in anomalies],
            "anomaly_counts": dict(Counter(a.kind for a in anomalies)),
            "failures": dict(failing),
            "log_tails": tails,
        }


#: How far from its hang's end a request may reach the emulator and still be that hang's
#: (the event loop's own delay under load).
HANG_LANDING_SLACK_S = 1.5


def _landed_after_hang(request: CallRecord, hangs: list[InjectedFault], *, hang: float) -> bool:
    """Whether ``request`` is one of ``hangs`` reaching the emulator when its hang ended
    (one hang later, same marketplace; for an OR11 the same kind of OR11: a pull, or a
    read by ``order_ids``). Before, any hung request of the marketplace matched, so the
    restarted hub's own first pull was taken for a zombie one time in ten and its
    restart looked a period late (the hour soaks on cfd8c03)."""
    return any(
        _same_request(request, f) and abs(request.at - (f.at + hang)) <= HANG_LANDING_SLACK_S
        for f in hangs
    )


def _same_request(request: CallRecord, fault: InjectedFault) -> bool:
    if f"/{request.market}/" not in fault.path:
        return False
    if request.op_id != "OR11":
        return True  # the call log names no path: the marketplace is all there is
    is_pull = request.budget == "OR11"
    return (
        fault.method == "GET"
        and fault.path.endswith(f"/{request.market}/api/orders")
        and ("order_ids" not in fault.query) == is_pull
    )


def _late_by_fault(restarts: list[dict[str, Any]], period: float) -> dict[str, int]:
    """Restarts of ``run`` over one period, by the worst fault their OR11 pulls met."""
    late = Counter[str]()
    for r in restarts:
        value = r.get("all_pulled_after_s")
        if r.get("process") != "run" or value is None or value <= period:
            continue
        kinds = {kind for kinds_of in r.get("or11_faults", {}).values() for kind in kinds_of}
        late["hang" if "hang" in kinds else "error" if kinds else "none"] += 1
    return dict(late)


def _after_boot(restarts: list[dict[str, Any]], period: float) -> dict[str, Any]:
    """Restart to all pulled, counted from the hub's first Mirakl call (its boot done),
    and which of those over one poll period had no fault injected into any OR11."""
    runs = [
        r
        for r in restarts
        if r.get("process") == "run"
        and r.get("all_pulled_after_s") is not None
        and r.get("first_call_after_s") is not None
    ]
    after = sorted(r["all_pulled_after_s"] - r["first_call_after_s"] for r in runs)
    boots = sorted(r["first_call_after_s"] for r in runs)
    over = [r for r in runs if r["all_pulled_after_s"] - r["first_call_after_s"] > period]
    slot = [r for r in runs if r.get("beyond_slot_s") is not None]
    beyond = sorted(r["beyond_slot_s"] for r in slot)
    late = [r for r in slot if r["beyond_slot_s"] > period]
    return {
        "boot_median_s": boots[len(boots) // 2] if boots else None,
        "median_s": round(after[len(after) // 2], 1) if after else None,
        "max_s": round(after[-1], 1) if after else None,
        "over_one_poll_period": len(over),
        "over_without_an_or11_fault": sum(1 for r in over if not r.get("or11_faults")),
        # Counted from the later of the boot and each marketplace's next free OR11 slot
        # (the killed process's last pull holds it for a period): the hub's own delay.
        "beyond_the_slot": {
            "median_s": round(beyond[len(beyond) // 2], 1) if beyond else None,
            "max_s": round(beyond[-1], 1) if beyond else None,
            "over_one_poll_period": len(late),
            "over_without_an_or11_fault": sum(1 for r in late if not r.get("or11_faults")),
        },
    }


def _supercycle_return_orders(sandbox: Sandbox, actor: FulfilmentActor) -> set[str]:
    """Mirakl order ids whose shop order the warehouse returned through Supercycle."""
    orders = sandbox.shopify.data.orders
    out = set()
    for gid, fate in actor.log:
        if "Supercycle return" in fate:
            order = orders.get(int(gid.rsplit("/", 1)[-1]))
            if order is not None and order.source_identifier:
                out.add(order.source_identifier)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="the CI run (under 5 minutes)")
    parser.add_argument("--postgres", action="store_true", help="run + 2 workers on PostgreSQL")
    parser.add_argument("--minutes", type=float, help="minutes of traffic (default 60)")
    parser.add_argument("--orders-per-hour", type=float)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    parser.add_argument(
        "--keep", action="store_true", help="keep the work directory (logs) and the database"
    )
    args = parser.parse_args(argv)
    profile = quick_profile() if args.quick else Profile(traffic_seconds=3600.0)
    changes: dict[str, Any] = {}
    if args.minutes is not None:
        changes["traffic_seconds"] = args.minutes * 60
    if args.orders_per_hour is not None:
        changes["orders_per_hour"] = args.orders_per_hour
    if args.seed is not None:
        changes["seed"] = args.seed
    profile = Profile(**{**asdict(profile), **changes}) if changes else profile
    directory = Path(tempfile.mkdtemp(prefix="soak-"))
    soak = Soak(profile, args.postgres, directory, keep=args.keep)
    result = soak.run()
    result["command"] = " ".join(["python", "benchmarks/soak.py", *(argv or sys.argv[1:])])
    result["work_directory"] = str(directory) if args.keep else None
    # With --keep the hub's database stays too (the SQLite file is in the directory).
    result["kept_database"] = soak.database_url if args.keep else None
    text = json.dumps(result, indent=2, default=str)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    if not args.keep:
        import shutil

        shutil.rmtree(directory, ignore_errors=True)
    return 1 if result["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
