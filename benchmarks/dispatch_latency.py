"""Benchmark: dispatch, from a fulfilment in Shopify to SHIPPED on the marketplace.

Headline, ``workflow``: the real path, every part as deployed. The hub is ``mirakl-sync run
--config <file>`` in its own process (the engine runtime ``start_runtime(settings,
role="hub")`` on SQLite with all its flows and schedules, and the web receiver
``build_web_app(hub)`` under uvicorn); it subscribes itself to the Shopify webhooks
(``web.public_url`` + ``shopify.webhook_secret``). The sandbox is served by uvicorn on
loopback from this process; its Shopify emulator delivers HMAC-signed webhooks over HTTP
(``httpx_webhook_sender``). A fulfilment in the emulator (``fulfil_order``) thus becomes a
``fulfillments/create`` POST -> signature check -> ``route_shopify_webhook`` -> the durable
``dispatch_fulfilment`` workflow (tracking step, ship step, each checkpointed) -> ST11 + ST01
``shipped: true`` on debenhams (multi-shipment), OR23 + OR24 on sportshub and maisonhome.
Latency = the emulated Mirakl's ``shipped_at`` (the moment the order became SHIPPED) minus
the moment ``fulfil_order`` was called; both on this process's clock.

Limits: the emulated Mirakl enforces the spec's Call Frequency (``call_frequency_scale =
1``) and the hub reserves the spec's budgets (``call_budget_scale = 1``) during the
measurement: OR23, OR24, ST01, ST11 and ST24 have no Call Frequency in the spec, so nothing
is lifted for them. OR11 has one (once a minute): the workflow does not call it; it reads
the order from the store (the OR11 payload the orders flow saved), and calls OR11 only when
Mirakl refuses a write. The orders are placed, accepted (OR21), created in Shopify and
recorded in the hub's store beforehand, untimed, with the emulator's limits lifted for that
setup only; the hub starts once every order is debited (SHIPPING); SH21 is warm in the store
(it is cached daily, as on a running hub).

Secondary, the dispatch SERVICE alone (no engine, no web receiver, no HTTP), against the
in-process sandbox with every limit lifted:

- ``webhook``: each fulfilment dispatched as it arrives with ``dispatch_many([f])``.
- ``batched``: a polling pass every ``--poll`` seconds dispatches what arrived since the
  last one with ``dispatch_many`` (ST01 batches of up to 1000 per call where available).
  Latency = arrival to SHIPPED, the wait for the next pass included.

Fulfilments arrive at the offered rate (10,000/hour by default) spread over the three
sandbox marketplaces. Calls per marketplace per minute are counted from the HTTP traffic
(max over sliding 60 s windows, per operation); 429s are counted apart.

    python benchmarks/dispatch_latency.py [--quick] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import sqlalchemy as sa
import structlog
import uvicorn

from mirakl_sync.adapters.store.migrations import upgrade_database
from mirakl_sync.adapters.store.tables import marketplace_orders
from mirakl_sync.bootstrap import Hub, Transports, bootstrap
from mirakl_sync.config import SandboxSettings, settings_from_mapping
from mirakl_sync.sandbox.hub_settings import sandbox_hub_config
from mirakl_sync.sandbox.mirakl.orders import PlaceOrderError
from mirakl_sync.sandbox.server import (
    MARKETPLACES,
    SHOPIFY_WEBHOOK_SECRET,
    Sandbox,
    build_sandbox,
)
from mirakl_sync.sandbox.shopify import WebhookMessage
from mirakl_sync.services.dispatch_types import DispatchStatus, Fulfilment

T = TypeVar("T")
CODES = [m.code for m in MARKETPLACES]
EXECUTABLE = Path(sys.executable).with_name("mirakl-sync")
CARRIERS = ["Royal Mail", "DPD UK", "Royal Mail 24"]
OPERATIONS = [
    (re.compile(r"/api/orders/[^/]+/tracking$"), "PUT", "OR23"),
    (re.compile(r"/api/orders/[^/]+/ship$"), "PUT", "OR24"),
    (re.compile(r"/api/shipments$"), "POST", "ST01"),
    (re.compile(r"/api/shipments$"), "GET", "ST11"),
    (re.compile(r"/api/shipments/ship$"), "PUT", "ST24"),
    (re.compile(r"/api/orders$"), "GET", "OR11"),
    (re.compile(r"/api/shipping/carriers$"), "GET", "SH21"),
]


class Recorder(httpx.AsyncBaseTransport):
    """Forwards to the sandbox and records (time, marketplace, operation) of Mirakl calls."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.calls: list[tuple[float, str, str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.startswith("/mirakl/"):
            market = path.split("/")[2]
            for pattern, method, code in OPERATIONS:
                if request.method == method and pattern.search(path):
                    self.calls.append((time.monotonic(), market, code))
                    break
        return await self.inner.handle_async_request(request)


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None, "max": None}
    ordered = sorted(values)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)

    return {"p50": pick(0.5), "p95": pick(0.95), "p99": pick(0.99), "max": round(ordered[-1], 3)}


def max_per_minute(calls: list[tuple[float, str, str]]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    by_key: dict[tuple[str, str], list[float]] = {}
    for at, market, code in calls:
        by_key.setdefault((market, code), []).append(at)
    for (market, code), stamps in sorted(by_key.items()):
        stamps.sort()
        best, start = 0, 0
        for end, at in enumerate(stamps):
            while at - stamps[start] > 60.0:
                start += 1
            best = max(best, end - start + 1)
        out.setdefault(market, {})[code] = best
    return out


def hub_raw(database_url: str, base: str, *, budget_scale: float) -> dict[str, Any]:
    """The hub's configuration, pointed at the sandbox at ``base``."""
    raw = sandbox_hub_config(
        database_url,
        base_url=base,
        every_market={"call_budget_scale": budget_scale},
        extra={
            "carriers": {"Royal Mail": "RM", "DPD UK": "DPD"},
            "carrier_aliases": {"Royal Mail 24": "Royal Mail"},
        },
        # As the sandbox's operator is set up (maisonhome refuses partial acceptance).
        sandbox_rules=True,
    )
    raw["shopify"]["webhook_secret"] = SHOPIFY_WEBHOOK_SECRET
    return raw


class Setup:
    """Accepted, debited marketplace orders with their shop orders, recorded in the hub's
    store (not timed). ``sandbox`` given: its real clock is used (the workflow mode)."""

    def __init__(self, tmp: Path, products: int, sandbox: Sandbox | None = None) -> None:
        self.offset = [0.0]
        self.real_clock = sandbox is not None
        self.sandbox = sandbox or build_sandbox(
            SandboxSettings(orders_per_hour=0, call_frequency_scale=0, products=products),
            clock=self.clock,
        )
        self.settings = settings_from_mapping(
            hub_raw(f"sqlite:///{tmp / 'hub.db'}", "http://sandbox", budget_scale=0), env={}
        )
        upgrade_database(self.settings.database_url)
        self.recorder = Recorder(httpx.ASGITransport(app=self.sandbox.app))
        transport = self.recorder
        self.hub: Hub = bootstrap(
            self.settings,
            transports=Transports(
                shopify=transport, supercycle=transport, mirakl={c: transport for c in CODES}
            ),
            clock=self.clock,
        )

    def clock(self) -> float:
        return time.time() + self.offset[0]

    async def accepted(self, market: str, sku: str) -> tuple[str, str] | None:
        try:
            order_id = self.sandbox.mirakl.place_order(market, [(sku, 1)])
        except PlaceOrderError:  # out of stock for this SKU: the caller picks another
            return None
        async with self.hub.mirakl(self.settings.marketplace(market)) as client:
            order = [o async for o in client.list_orders(order_ids=[order_id])][0]  # noqa: RUF015
            decisions = {ln.order_line_id: True for ln in order.order_lines}
            await client.accept_order(order_id, decisions)
            order = [o async for o in client.list_orders(order_ids=[order_id])][0]  # noqa: RUF015
        async with self.hub.shopify() as shop:
            created = await shop.order_create(
                {
                    "sourceIdentifier": order_id,
                    "tags": ["mirakl", market],
                    "currency": "GBP",
                    "lineItems": [
                        {
                            "sku": sku,
                            "title": sku,
                            "quantity": 1,
                            "priceSet": {"shopMoney": {"amount": "10.00", "currencyCode": "GBP"}},
                        }
                    ],
                }
            )
        stamp = datetime.fromtimestamp(self.clock(), UTC)
        with self.hub.store.engine.begin() as connection:
            connection.execute(
                marketplace_orders.insert().values(
                    marketplace=market,
                    order_id=order_id,
                    state=order.order_state,
                    hub_status="accepted",
                    created_at=stamp,
                    last_updated_at=stamp,
                    line_count=1,
                    shopify_order_id=created.id,
                    payload=order.model_dump(mode="json"),
                    first_seen_at=stamp,
                    updated_at=stamp,
                )
            )
        return order_id, created.id

    async def orders(self, count: int) -> list[tuple[str, str, str, str]]:
        """(marketplace, order id, shop GID, sku), accepted and debited."""
        stock = self.sandbox.mirakl.offers_in_stock()
        # Setup is not timed: lift Shopify's query-cost throttle while it runs.
        shopify = self.sandbox.shopify
        restore_rate, shopify.restore_rate = shopify.restore_rate, 1e9
        out: list[tuple[str, str, str, str]] = []
        attempt = 0
        while len(out) < count and attempt < count * 5:
            batch = []
            for _ in range(min(20, count - len(out))):
                market = CODES[attempt % len(CODES)]
                sku = stock[market][(attempt // len(CODES)) % len(stock[market])]
                batch.append((market, sku))
                attempt += 1
            done = await asyncio.gather(*(self.accepted(m, s) for m, s in batch))
            out += [(m, r[0], r[1], s) for (m, s), r in zip(batch, done, strict=True) if r]
        shopify.restore_rate = restore_rate
        if not self.real_clock:
            self.offset[0] += 30  # past the emulator's debit delay: every order is SHIPPING
        return out

    async def warm_references(self) -> None:
        """SH21 is cached daily in the store: warm it as a running hub has."""
        async with self.hub.dispatch_services(clock=self.clock) as kit:
            await asyncio.gather(
                *(kit.dispatch._references.carriers(kit.dispatch._apis(c)) for c in CODES)
            )


async def scenario(mode: str, count: int, rate_per_hour: float, poll: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        setup = Setup(Path(tmp), products=max(40, count // 6))
        orders = await setup.orders(count)
        setup.recorder.calls.clear()
        interval = 3600.0 / rate_per_hour
        latencies: dict[str, list[float]] = {c: [] for c in CODES}
        statuses: Counter[str] = Counter()
        st01_sizes: list[int] = []
        pending: list[tuple[float, str, Fulfilment]] = []
        started = time.monotonic()

        async with setup.hub.dispatch_services(clock=setup.clock) as kit:
            await setup.warm_references()
            original = kit.dispatch._apis
            wrapped: dict[str, Any] = {}

            def counting(code: str) -> Any:
                if code in wrapped:
                    return wrapped[code]
                api = wrapped[code] = original(code)
                create = api.create_shipments

                async def create_shipments(items: list[dict[str, Any]]) -> Any:
                    st01_sizes.append(len(items))
                    return await create(items)

                api.create_shipments = create_shipments  # type: ignore[method-assign,assignment]
                return api

            kit.dispatch._apis = counting

            async def one(arrived: float, market: str, f: Fulfilment) -> None:
                [result] = await kit.dispatch.dispatch_many([f])
                finish(arrived, market, result.status)

            def finish(arrived: float, market: str, status: DispatchStatus) -> None:
                statuses[status.value] += 1
                if status == DispatchStatus.SHIPPED:
                    latencies[market].append(time.monotonic() - arrived)

            async def poller(stop: Callable[[], bool]) -> None:
                while True:
                    await asyncio.sleep(poll)
                    batch, pending[:] = list(pending), []
                    if batch:
                        results = await kit.dispatch.dispatch_many([f for _, _, f in batch])
                        for (arrived, market, _), r in zip(batch, results, strict=True):
                            finish(arrived, market, r.status)
                    if stop() and not pending:
                        return

            tasks: list[asyncio.Task[None]] = []
            arrivals_done = False
            poll_task = (
                asyncio.create_task(poller(lambda: arrivals_done)) if mode == "batched" else None
            )
            for i, (market, _order_id, shop, sku) in enumerate(orders):
                delay = started + i * interval - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                carrier = CARRIERS[i % len(CARRIERS)]
                gid = setup.sandbox.shopify.fulfil_order(shop, carrier, f"TRK{i:06d}")
                arrived = time.monotonic()
                f = Fulfilment(
                    source_id=f"shopify-fulfillment:{gid.rsplit('/', 1)[-1]}",
                    shopify_order_id=shop,
                    skus={sku: 1},
                    carrier=carrier,
                    tracking_number=f"TRK{i:06d}",
                )
                if mode == "webhook":
                    tasks.append(asyncio.create_task(one(arrived, market, f)))
                else:
                    pending.append((arrived, market, f))
            arrivals_done = True
            await asyncio.gather(*tasks)
            if poll_task is not None:
                await poll_task
        elapsed = time.monotonic() - started
        shipped = sum(
            1
            for market, order_id, _, _ in orders
            if setup.sandbox.mirakl.market(market).orders[order_id].state.value == "SHIPPED"
        )
        calls = setup.recorder.calls
        setup.hub.close()
    everything = [x for v in latencies.values() for x in v]
    return {
        "mode": mode,
        "shipments": len(orders),
        "offered_per_hour": rate_per_hour,
        "elapsed_seconds": round(elapsed, 1),
        "shipped_on_marketplace": shipped,
        "statuses": dict(statuses),
        "latency_seconds": percentiles(everything),
        "latency_by_marketplace": {c: percentiles(v) for c, v in latencies.items()},
        "st01_calls": len(st01_sizes),
        "st01_mean_batch": round(sum(st01_sizes) / len(st01_sizes), 1) if st01_sizes else 0,
        "calls_total": dict(Counter(f"{m}:{c}" for _, m, c in calls)),
        "max_calls_per_minute": max_per_minute(calls),
    }


# ----------------------------------------------------------------------------- workflow mode


class AsgiRecorder:
    """Wraps the sandbox app: records (time, marketplace, operation, status) of every Mirakl
    call and the number of shipments in each ST01 body."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.calls: list[tuple[float, str, str, int]] = []
        self.st01_sizes: list[tuple[float, int]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/mirakl/"):
            await self.app(scope, receive, send)
            return
        market, method = path.split("/")[2], scope["method"]
        code = next((c for p, m, c in OPERATIONS if m == method and p.search(path)), "other")
        chunks: list[bytes] = []
        status = [0]

        async def receive_recorded() -> Any:
            message = await receive()
            if code == "ST01" and message["type"] == "http.request":
                chunks.append(message.get("body", b""))
            return message

        async def send_recorded(message: Any) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        await self.app(scope, receive_recorded, send_recorded)
        now = time.time()
        self.calls.append((now, market, code, status[0]))
        if code == "ST01" and 200 <= status[0] < 300:
            self.st01_sizes.append((now, len(json.loads(b"".join(chunks))["shipments"])))


class ServedSandbox:
    """The sandbox served over HTTP by uvicorn in a thread, on an event loop this process
    can run coroutines on (the emulators are touched from that loop only)."""

    def __init__(self, app: Any, port: int) -> None:
        self.port = port
        self.loop = asyncio.new_event_loop()
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
        )
        self.thread = threading.Thread(target=self._serve, name="sandbox", daemon=True)

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.server.serve())

    def __enter__(self) -> ServedSandbox:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the sandbox server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def to_toml(raw: dict[str, Any]) -> str:
    """Enough TOML for the hub's config: scalars, tables, arrays of tables."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        raise TypeError(f"cannot write {v!r} as TOML")

    def table(prefix: str, data: dict[str, Any], out: list[str]) -> None:
        nested = []
        for k, v in data.items():
            key = json.dumps(k)
            if isinstance(v, dict):
                nested.append((f"{prefix}{key}", v, False))
            elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
                nested.extend((f"{prefix}{key}", x, True) for x in v)
            else:
                out.append(f"{key} = {value(v)}")
        for name, sub, array in nested:
            out.append(f"[[{name}]]" if array else f"[{name}]")
            table(f"{name}.", sub, out)

    lines: list[str] = []
    table("", raw, lines)
    return "\n".join(lines) + "\n"


def _workflow_counts(database_url: str) -> dict[str, dict[str, int]]:
    """Workflows of the engine's SQLite store, by name and status."""
    engine = sa.create_engine(database_url.removesuffix(".db") + "-engine.db")
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT name, status, COUNT(*) FROM workflow_status "
                    "WHERE name LIKE 'mirakl_sync.%' GROUP BY name, status"
                )
            )
            out: dict[str, dict[str, int]] = {}
            for name, status, n in rows:
                out.setdefault(str(name), {})[str(status)] = int(n)
            return out
    finally:
        engine.dispose()


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


async def _drive(
    sandbox: Sandbox,
    orders: list[tuple[str, str, str, str]],
    rate_per_hour: float,
    drain_seconds: float,
) -> tuple[dict[tuple[str, str], float], float, float]:
    """Fulfil the orders in the shop at the offered rate (on the sandbox's loop, so the
    emulator delivers each webhook as it would), then wait for SHIPPED or the drain limit.
    Returns (fulfilment time per order, window start, window end)."""
    interval = 3600.0 / rate_per_hour
    fulfilled: dict[tuple[str, str], float] = {}
    started = time.monotonic()
    window_start = time.time()
    for i, (market, order_id, shop, _sku) in enumerate(orders):
        delay = started + i * interval - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        fulfilled[(market, order_id)] = time.time()
        sandbox.shopify.fulfil_order(shop, CARRIERS[i % len(CARRIERS)], f"TRK{i:06d}")
    deadline = time.monotonic() + drain_seconds
    while time.monotonic() < deadline:
        if all(sandbox.mirakl.market(m).orders[o].shipped_at is not None for m, o in fulfilled):
            break
        await asyncio.sleep(0.05)
    return fulfilled, window_start, time.time()


def workflow_scenario(
    count: int, rate_per_hour: float, warmup: float, drain: float, keep_log: Path | None = None
) -> dict[str, Any]:
    """The real path: ``mirakl-sync run`` (engine + web receiver) in its own process, the
    sandbox served on loopback delivering signed ``fulfillments/create`` webhooks to it."""
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        # The emulated Mirakl enforces the spec's Call Frequency (lifted only while the
        # untimed setup accepts the orders): OR23, OR24, ST01, ST11 and ST24 have none.
        sandbox = build_sandbox(
            SandboxSettings(orders_per_hour=0, call_frequency_scale=1, products=max(40, count // 6))
        )
        recorder = AsgiRecorder(sandbox.app)
        sandbox_port, hub_port = _port(), _port()
        base = f"http://127.0.0.1:{sandbox_port}"
        deliveries: list[float] = []
        send = sandbox.shopify.webhook_sender
        assert send is not None

        async def timed_send(message: WebhookMessage) -> None:
            began = time.monotonic()
            await send(message)
            if message.topic == "fulfillments/create":
                deliveries.append(time.monotonic() - began)

        sandbox.shopify.webhook_sender = timed_send
        with ServedSandbox(recorder, sandbox_port) as served:
            setup = Setup(tmp, 0, sandbox=sandbox)
            sandbox.mirakl.call_frequency_scale = 0
            orders = served.run(setup.orders(count))
            served.run(setup.warm_references())
            sandbox.mirakl.call_frequency_scale = 1
            setup.hub.close()
            # The hub as deployed: Mirakl budgets from the spec (scale 1), webhooks on.
            raw = hub_raw(setup.settings.database_url, base, budget_scale=1)
            raw["web"] = {
                "host": "127.0.0.1",
                "port": hub_port,
                "public_url": f"http://127.0.0.1:{hub_port}",
            }
            raw["engine"] = {"executor_id": "bench-dispatch-hub"}
            config = tmp / "mirakl-sync.toml"
            config.write_text(to_toml(raw), encoding="utf-8")
            log_path = tmp / "hub.log"
            with log_path.open("wb") as log:
                hub = subprocess.Popen(
                    [str(EXECUTABLE), "run", "--config", str(config)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                )
            try:
                deadline = time.monotonic() + 90
                while True:
                    subscribed = any(
                        s.topic == "FULFILLMENTS_CREATE"
                        for s in list(sandbox.shopify.data.subscriptions.values())
                    )
                    try:
                        up = httpx.get(f"http://127.0.0.1:{hub_port}/healthz", timeout=1)
                        ready = subscribed and up.status_code == 200
                    except httpx.TransportError:
                        ready = False
                    if ready:
                        break
                    if hub.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(
                            "the hub did not start:\n"
                            + log_path.read_text(errors="replace")[-3000:]
                        )
                    time.sleep(0.1)
                # Every order SHIPPING (debited) before the first fulfilment.
                while True:
                    sandbox.mirakl.tick()
                    states = {
                        sandbox.mirakl.market(m).orders[o].state.value for m, o, _, _ in orders
                    }
                    if states == {"SHIPPING"}:
                        break
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"orders not all debited: {states}")
                    time.sleep(0.2)
                time.sleep(warmup)
                recorder.calls.clear()
                recorder.st01_sizes.clear()
                fulfilled, window_start, window_end = served.run(
                    _drive(sandbox, orders, rate_per_hour, drain)
                )
            finally:
                _stop(hub)
            hub_log = log_path.read_text(errors="replace")
            if keep_log is not None:
                keep_log.write_text(hub_log, encoding="utf-8")
        workflows = _workflow_counts(setup.settings.database_url)
    latencies: dict[str, list[float]] = {c: [] for c in CODES}
    for (market, order_id), at in fulfilled.items():
        shipped = sandbox.mirakl.market(market).orders[order_id].shipped_at
        if shipped is not None:
            latencies[market].append(shipped - at)
    everything = [x for v in latencies.values() for x in v]
    calls = [(at, m, c) for at, m, c, status in recorder.calls if status != 429]
    sizes = [n for _, n in recorder.st01_sizes]
    return {
        "mode": "workflow",
        "shipments": len(orders),
        "offered_per_hour": rate_per_hour,
        "measured_seconds": round(window_end - window_start, 1),
        "shipped_on_marketplace": len(everything),
        "latency_seconds": percentiles(everything),
        "latency_by_marketplace": {c: percentiles(v) for c, v in latencies.items()},
        "webhook_delivery_seconds": percentiles(deliveries),
        "dispatch_workflows": workflows.get("mirakl_sync.dispatch_fulfilment", {}),
        "shipments_poll_runs": sum(workflows.get("mirakl_sync.shipments_poll", {}).values()),
        "st01_calls": len(sizes),
        "st01_mean_batch": round(sum(sizes) / len(sizes), 2) if sizes else 0,
        "st01_max_batch": max(sizes, default=0),
        "calls_total": dict(Counter(f"{m}:{c}" for _, m, c in calls)),
        "max_calls_per_minute": max_per_minute(calls),
        "mirakl_429": sum(1 for *_, status in recorder.calls if status == 429),
        "hub_log_errors": len(re.findall(r"\[error|\bERROR\b|Traceback", hub_log)),
        "hub_log_warnings": len(re.findall(r"\[warning|\bWARNING\b", hub_log)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--rate", type=float, default=10_000.0, help="fulfilments per hour")
    parser.add_argument("--poll", type=float, default=5.0, help="batched mode: seconds a pass")
    parser.add_argument("--count", type=int, default=None, help="workflow mode: fulfilments")
    parser.add_argument(
        "--service-count", type=int, default=None, help="service modes: fulfilments each"
    )
    parser.add_argument("--hub-log", type=Path, default=None, help="keep the hub's log here")
    args = parser.parse_args(argv)
    # The setup's clients log each call at debug level: keep stdout for the result.
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )
    count = args.count or (50 if args.quick else 800)
    service_count = args.service_count or (20 if args.quick else 300)
    warmup, drain = (3.0, 30.0) if args.quick else (10.0, 120.0)
    result = {
        "benchmark": "dispatch_latency",
        "headline": "workflow",
        "workflow": workflow_scenario(count, args.rate, warmup, drain, args.hub_log),
        "webhook": asyncio.run(scenario("webhook", service_count, args.rate, args.poll)),
        "batched": asyncio.run(scenario("batched", service_count, args.rate, args.poll)),
        "targets": {"hub_overhead_p99_seconds": 2.0, "offered_per_hour": 10_000},
    }
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
