"""A hub pointed at the in-process sandbox, with helpers to set up accepted orders."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
import threading
import time
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx

from mirakl_sync.adapters.store.migrations import upgrade_database
from mirakl_sync.adapters.store.tables import call_budgets, marketplace_orders
from mirakl_sync.bootstrap import DispatchServices, Hub, Transports, bootstrap
from mirakl_sync.config import SandboxSettings, settings_from_mapping
from mirakl_sync.sandbox.hub_settings import sandbox_hub_config, sqlite_url
from mirakl_sync.sandbox.server import MARKETPLACES, build_sandbox
from mirakl_sync.workflows.flow_context import (
    FlowContext,
    clear_flow_context,
    current_flow_context,
    set_flow_context,
)

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


class Env:
    def __init__(
        self,
        tmp_path: Path,
        *,
        market_overrides: dict[str, dict[str, Any]] | None = None,
        top: dict[str, Any] | None = None,
        mirakl_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.now = [1_800_000_000.0]
        self.sandbox = build_sandbox(
            SandboxSettings(orders_per_hour=0, call_frequency_scale=0, products=40),
            clock=lambda: self.now[0],
        )
        overrides = market_overrides or {}
        raw = sandbox_hub_config(
            sqlite_url(tmp_path),
            every_market={"call_budget_scale": 0},
            per_market=overrides,
            extra={
                "carriers": {"Royal Mail": "RM", "DPD UK": "DPD"},
                "carrier_aliases": {"Royal Mail 24": "Royal Mail"},
                # Refunds go at once here unless a test is about waiting for the shipment
                # (test_safety_net_steps sets it): these tests refund unshipped lines on
                # purpose.
                "refunds": {"ship_first_seconds": 0},
                **(top or {}),
            },
        )
        self.raw = raw
        self.settings = settings_from_mapping(raw, env={})
        upgrade_database(self.settings.database_url)
        self.transport = httpx.ASGITransport(app=self.sandbox.app)
        mirakl = mirakl_transport or self.transport
        self.hub: Hub = bootstrap(
            self.settings,
            transports=Transports(
                shopify=self.transport,
                supercycle=self.transport,
                mirakl={m.code: mirakl for m in MARKETPLACES},
            ),
            clock=lambda: self.now[0],
        )
        #: The options of the flow context ``workflows()`` set, while it is set.
        self._flow_options: dict[str, Any] | None = None

    def close(self) -> None:
        self.hub.close()

    def _renew_flow_context(self) -> None:
        """Settings or transports changed: the flow context set by ``workflows()`` follows."""
        if self._flow_options is not None:
            # The engine a test's passes run under (``engine_for``) stays with the context.
            current = current_flow_context()
            options = {"engine": current.engine if current else None, **self._flow_options}
            set_flow_context(FlowContext(self.settings, self.hub_factory(self.settings), **options))

    def reconfigure(self, **changes: Any) -> None:
        """The same store and sandbox, with changed settings (ops edited the config)."""
        self.settings = self.settings.model_copy(update=changes)
        transports = self.hub.transports
        self.hub.close()
        self.hub = bootstrap(self.settings, transports=transports, clock=lambda: self.now[0])
        self._renew_flow_context()

    def rewire(self, **transports: Any) -> None:
        """The same store, settings and sandbox, reached through other transports (a test's
        wrapper around the sandbox: faults, counters); ``mirakl`` may be one transport for
        every marketplace."""
        mirakl = transports.get("mirakl")
        if isinstance(mirakl, httpx.AsyncBaseTransport):
            transports["mirakl"] = dict.fromkeys(self.hub.transports.mirakl, mirakl)
        replaced = dataclasses.replace(self.hub.transports, **transports)
        self.hub.close()
        self.hub = bootstrap(self.settings, transports=replaced, clock=lambda: self.now[0])
        self._renew_flow_context()

    def hub_factory(self, settings: Any) -> Hub:
        """A fresh hub on this sandbox (the workflows close the hubs they open)."""
        return bootstrap(settings, transports=self.hub.transports, clock=lambda: self.now[0])

    def flow_context(self, settings: Any = None, **options: Any) -> FlowContext:
        """A flow context on this sandbox (for ``start_runtime(..., context=)``)."""
        chosen = settings or self.settings
        return FlowContext(chosen, self.hub_factory(chosen), **options)

    @contextmanager
    def workflows(self, **options: Any) -> Iterator[None]:
        """The process's flow context on this sandbox (``options``: the context's clock,
        waits ...), cleared afterwards: a test's fake clock left behind made a later
        test's Supercycle cursor stand weeks ahead of the sandbox in the same worker."""
        self._flow_options = options
        self._renew_flow_context()
        try:
            yield
        finally:
            self._flow_options = None
            clear_flow_context()

    def resale_sale(self, market: str, index: int) -> tuple[str, str, int, str]:
        """A graded pre-owned item sold on ``market``: (order id, shop order GID, item id,
        serial); its Supercycle cycle is for the tests to create."""
        state = self.sandbox.supercycle.state
        today = state.today()
        serials = {
            i.serial: i.id for i in state.items.values() if state.is_bookable(i.id, today, None)
        }
        serial = [s for s in self.offer_skus(market) if s in serials][index]
        order_id, shop = asyncio.run(self.accepted_order(market, [(serial, 1)]))
        return order_id, shop, serials[serial], serial

    def raw_for(self, base_url: str) -> dict[str, Any]:
        """The raw config, pointed at the sandbox served on ``base_url`` (subprocesses)."""
        text = json.dumps(self.raw).replace("http://sandbox", base_url)
        return dict(json.loads(text))

    def forget_call_budgets(self) -> None:
        """Drop the call slots this process booked on its fake clock (far ahead of the real
        one), before a subprocess on the real clock shares the store: it would wait."""
        with self.hub.store.engine.begin() as connection:
            connection.execute(call_budgets.delete())

    def kit(self) -> Any:
        return self.hub.dispatch_services(clock=lambda: self.now[0])

    def mirakl_order(self, market: str, order_id: str) -> Any:
        return self.sandbox.mirakl.market(market).orders[order_id]

    def offer_skus(self, market: str) -> list[str]:
        return self.sandbox.mirakl.offers_in_stock()[market]

    async def accepted_order(
        self, market: str, lines: list[tuple[str, int]], *, debit: bool = True
    ) -> tuple[str, str]:
        """A marketplace order, accepted, its shop order created and recorded; returns
        (Mirakl order id, Shopify order GID)."""
        order_id = self.sandbox.mirakl.place_order(market, lines)
        async with self.hub.mirakl(self.settings.marketplace(market)) as client:
            order = await _one(client, order_id)
            decisions = {ln.order_line_id: True for ln in order.order_lines}
            await client.accept_order(order_id, decisions)
            if debit:
                self.now[0] += 10  # past the emulator's debit delay: SHIPPING
            order = await _one(client, order_id)
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
                            "quantity": qty,
                            "priceSet": {"shopMoney": {"amount": "10.00", "currencyCode": "GBP"}},
                        }
                        for sku, qty in lines
                    ],
                }
            )
        stamp = datetime.fromtimestamp(self.now[0], UTC)
        with self.hub.store.engine.begin() as connection:
            connection.execute(
                marketplace_orders.insert().values(
                    marketplace=market,
                    order_id=order_id,
                    state=order.order_state,
                    hub_status="accepted",
                    created_at=stamp,
                    last_updated_at=stamp,
                    line_count=len(order.order_lines),
                    shopify_order_id=created.id,
                    payload=order.model_dump(mode="json"),
                    first_seen_at=stamp,
                    updated_at=stamp,
                )
            )
        return order_id, created.id


async def with_kit(env: Env, body: Any) -> Any:
    async with env.kit() as kit:
        assert isinstance(kit, DispatchServices)
        return await body(kit)


async def _one(client: Any, order_id: str) -> Any:
    return [o async for o in client.list_orders(order_ids=[order_id])][0]  # noqa: RUF015


class CallCounter:
    """An ASGI wrapper counting requests by (method, path)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.calls: list[tuple[str, str]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.calls.append((scope["method"], scope["path"]))
        await self.app(scope, receive, send)

    def count(self, method: str, suffix: str) -> int:
        return sum(1 for m, p in self.calls if m == method and p.endswith(suffix))


@contextmanager
def served(app: Any) -> Iterator[str]:
    """Serve ``app`` over HTTP on a free local port (for subprocesses); yields the base URL."""
    import uvicorn

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the sandbox server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def to_toml(raw: dict[str, Any]) -> str:
    """Enough TOML for the test configs: scalars, string lists, tables, arrays of tables."""

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
