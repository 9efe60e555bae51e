"""A shop order the hub made, but linked only on a later attempt, is read once by the
passes after the link (issue 10, the PostgreSQL soak's lost shipments).

An import creates the shop order, then records it (``set_shop_order``). When the create's
reply is lost, or the process dies between the two, the record waits for the step's next
attempt: seconds, or minutes for a worker left dead. Meanwhile the warehouse can fulfil
the shop order, and the safety-net pass reading the shop's changes finds a shop order it
does not know and moves its cursor past it (the webhook's dispatch finds no marketplace
order either). Before, once linked, nothing read it again: the fulfilment never shipped.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from orders_sandbox import hub_settings, stocked_sku
from orders_sandbox import transports as sandbox_transports

from mirakl_sync.adapters.store.migrations import upgrade_database
from mirakl_sync.bootstrap import bootstrap
from mirakl_sync.config import SandboxSettings, Settings
from mirakl_sync.domain.marketplace_order import OrderEvent
from mirakl_sync.entrypoints.orders_once import run_orders_once
from mirakl_sync.sandbox.mirakl.orders import _apply
from mirakl_sync.sandbox.server import Sandbox, build_sandbox
from mirakl_sync.workflows.flow_context import FlowContext, using_flow_context
from mirakl_sync.workflows.safety_net import run_shipments_cycle

pytestmark = pytest.mark.timeout(300)


class CreateReplyLost(httpx.AsyncBaseTransport):
    """Shopify, where ``lose`` makes the next orderCreate land and its reply get lost, and
    Shopify then stays unreachable until ``down`` is cleared."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.lose = False
        self.down = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("shopify is down (test)", request=request)
        body = request.content
        if self.lose and b"orderCreate" in body:
            await self.inner.handle_async_request(request)
            self.lose, self.down = False, True
            raise httpx.ReadTimeout("the reply was lost (test)", request=request)
        return await self.inner.handle_async_request(request)


class Clock:
    """The sandbox's clock: real time, plus what a test moves it on by."""

    def __init__(self) -> None:
        self.ahead = 0.0

    def __call__(self) -> float:
        return time.time() + self.ahead


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(clock: Clock) -> Sandbox:
    settings = SandboxSettings(
        orders_per_hour=0, call_frequency_scale=0, acceptance_window_seconds=3 * 3600
    )
    return build_sandbox(settings, clock=clock)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = hub_settings(tmp_path)
    upgrade_database(settings.database_url)
    return settings


@pytest.fixture
def shopify(sandbox: Sandbox, settings: Settings, clock: Clock) -> Iterator[CreateReplyLost]:
    transport = CreateReplyLost(httpx.ASGITransport(app=sandbox.app))
    transports = sandbox_transports(sandbox, transport)
    hub = bootstrap(settings, transports=transports)
    with using_flow_context(FlowContext(settings, hub, clock=clock)):  # the passes' clock
        yield transport


def _shop_gid(sandbox: Sandbox, order_id: str) -> str:
    [order] = [o for o in sandbox.shopify.data.orders.values() if o.source_identifier == order_id]
    return f"gid://shopify/Order/{order.id}"


def _debit(sandbox: Sandbox, order_id: str) -> None:
    order = sandbox.mirakl.market("debenhams").orders[order_id]
    if order.state.value != "WAITING_DEBIT_PAYMENT":
        return  # the sandbox debited it already
    _apply(order, order.last_updated + 1, {ln.line_id: OrderEvent.DEBITED for ln in order.lines})


def test_a_fulfilment_made_before_its_shop_order_was_linked_ships(
    sandbox: Sandbox, settings: Settings, shopify: CreateReplyLost, clock: Clock
) -> None:
    transports = sandbox_transports(sandbox, shopify)
    sku = stocked_sku(sandbox.catalogue)
    # An order that went through, and a pass: the shop feed has a cursor.
    first = sandbox.mirakl.place_order("debenhams", [(sku, 1)])
    run_orders_once(settings, transports=transports)
    run_shipments_cycle(settings)

    late = sandbox.mirakl.place_order("debenhams", [(sku, 1)])
    shopify.lose = True  # its shop order is made, the hub does not hear it
    run_orders_once(settings, transports=transports)
    sandbox.shopify.fulfil_order(_shop_gid(sandbox, late), "Royal Mail", "RM-LATE-1")
    shopify.down = False
    # Ten minutes on (the attempt that links it is late: a worker left dead), the shop has
    # changed since; a pass reads past the fulfilled shop order, unknown to the hub yet.
    clock.ahead += 600
    sandbox.shopify.fulfil_order(_shop_gid(sandbox, first), "Royal Mail", "RM-FIRST-1")
    run_shipments_cycle(settings)

    run_orders_once(settings, transports=transports)  # found, linked, accepted
    assert sandbox.mirakl.market("debenhams").orders[late].accepted_at is not None
    _debit(sandbox, late)
    _debit(sandbox, first)
    run_shipments_cycle(settings)

    shipped = [s for s in sandbox.mirakl.market("debenhams").shipments.values()]
    assert late in {s.order_id for s in shipped}, "the fulfilment made before the link shipped"
    assert sandbox.mirakl.market("debenhams").orders[late].state.value == "SHIPPED"


def test_a_shop_order_linked_by_an_attempt_that_died_is_read_once_more(
    sandbox: Sandbox, settings: Settings, shopify: CreateReplyLost, clock: Clock
) -> None:
    """The attempt that found the shop order recorded the link and died before asking the
    feeds to read it (two writes, a kill between them; the SQLite hour soak's lost
    shipment of order 3001001156-A fits this). The next attempt, finding the link already
    recorded, must ask them all the same: a pass read past the fulfilled shop order while
    it was unknown."""
    from datetime import UTC, datetime

    from mirakl_sync.adapters.store.database import create_store_engine
    from mirakl_sync.adapters.store.orders import SqlOrderRepository
    from mirakl_sync.domain.orders import ShopOrderRef

    transports = sandbox_transports(sandbox, shopify)
    sku = stocked_sku(sandbox.catalogue)
    first = sandbox.mirakl.place_order("debenhams", [(sku, 1)])
    run_orders_once(settings, transports=transports)
    run_shipments_cycle(settings)

    late = sandbox.mirakl.place_order("debenhams", [(sku, 1)])
    shopify.lose = True
    run_orders_once(settings, transports=transports)
    shop_gid = _shop_gid(sandbox, late)
    sandbox.shopify.fulfil_order(shop_gid, "Royal Mail", "RM-DIED-1")
    shopify.down = False
    clock.ahead += 600
    sandbox.shopify.fulfil_order(_shop_gid(sandbox, first), "Royal Mail", "RM-FIRST-2")
    run_shipments_cycle(settings)  # reads past the fulfilled shop order, unknown to the hub

    # The attempt that found it: the link recorded, then the process killed.
    [shop_order] = [o for o in sandbox.shopify.data.orders.values() if o.source_identifier == late]
    engine = create_store_engine(settings.database_url)
    try:
        SqlOrderRepository(engine).set_shop_order(
            "debenhams",
            late,
            ShopOrderRef(id=shop_gid, name=shop_order.name),
            datetime.fromtimestamp(clock(), UTC),
        )
    finally:
        engine.dispose()

    run_orders_once(settings, transports=transports)  # the next attempt: accepted
    assert sandbox.mirakl.market("debenhams").orders[late].accepted_at is not None
    _debit(sandbox, late)
    _debit(sandbox, first)
    run_shipments_cycle(settings)

    shipped = {s.order_id for s in sandbox.mirakl.market("debenhams").shipments.values()}
    assert late in shipped, "the fulfilment made before the dead attempt's link shipped"
