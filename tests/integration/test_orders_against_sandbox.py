"""The order flow against the in-process sandbox: ``run_orders_once`` end to end."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from orders_sandbox import (
    SwitchableTransport,
    hub_settings,
    resale_serials,
    stocked_sku,
    transports,
)

from mirakl_sync.adapters.store.database import create_store_engine
from mirakl_sync.adapters.store.exception_log import SqlExceptionLog
from mirakl_sync.adapters.store.migrations import upgrade_database
from mirakl_sync.adapters.store.orders import SqlOrderRepository
from mirakl_sync.adapters.store.stock_ledger import SqlStockLedger
from mirakl_sync.config import SandboxSettings, Settings
from mirakl_sync.domain.marketplace_order import LineState, OrderEvent
from mirakl_sync.domain.orders import HubStatus, TargetSystem
from mirakl_sync.domain.stock_pool import ReservationStatus
from mirakl_sync.entrypoints.orders_once import run_orders_once
from mirakl_sync.sandbox.mirakl.orders import _apply
from mirakl_sync.sandbox.server import Sandbox, build_sandbox
from mirakl_sync.services.shop_cancel_mark import mark_cancelled_in_shop


@pytest.fixture
def sandbox() -> Sandbox:
    return build_sandbox(SandboxSettings(orders_per_hour=0, call_frequency_scale=0))


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    settings = hub_settings(tmp_path)
    upgrade_database(settings.database_url)
    yield settings


def cycle(settings: Settings, sandbox: Sandbox, shopify: httpx.AsyncBaseTransport | None = None):
    return run_orders_once(settings, transports=transports(sandbox, shopify))


def repo(settings: Settings) -> SqlOrderRepository:
    return SqlOrderRepository(create_store_engine(settings.database_url))


def shop_orders(sandbox: Sandbox, order_id: str) -> list[object]:
    return [o for o in sandbox.shopify.data.orders.values() if o.source_identifier == order_id]


def mirakl_state(sandbox: Sandbox, market: str, order_id: str) -> str:
    return sandbox.mirakl.market(market).orders[order_id].state.value


def test_fresh_install_accepts_a_stocked_variant_and_a_resale_item(
    sandbox: Sandbox, settings: Settings
) -> None:
    sku = stocked_sku(sandbox.catalogue)
    serial = resale_serials(sandbox.catalogue)[0]
    first = sandbox.mirakl.place_order("debenhams", [(sku, 1)])
    second = sandbox.mirakl.place_order("sportshub", [(serial, 1)])
    cycle(settings, sandbox)
    assert mirakl_state(sandbox, "debenhams", first) == "WAITING_DEBIT_PAYMENT"
    assert mirakl_state(sandbox, "sportshub", second) == "WAITING_DEBIT_PAYMENT"
    assert len(shop_orders(sandbox, first)) == 1
    assert len(shop_orders(sandbox, second)) == 1
    created = shop_orders(sandbox, first)[0]
    assert created.source_name == "mirakl-sync"  # type: ignore[attr-defined]
    assert "mirakl:debenhams" in created.tags  # type: ignore[attr-defined]
    item = next(i for i in sandbox.supercycle.state.items.values() if i.serial == serial)
    assert item.visibility == "sold"
    stored = repo(settings).get("debenhams", first)
    assert stored is not None and stored.hub_status is HubStatus.ACCEPTED
    assert stored.shopify_order_name
    # A second cycle changes nothing: one shop order, one acceptance.
    cycle(settings, sandbox)
    assert len(shop_orders(sandbox, first)) == 1


def test_a_line_without_stock_is_refused_at_once(sandbox: Sandbox, settings: Settings) -> None:
    sku = stocked_sku(sandbox.catalogue)
    for location in (70001, 70002):
        sandbox.shopify.set_available(sku, location, 0)
    order_id = sandbox.mirakl.place_order("debenhams", [(sku, 1)])
    cycle(settings, sandbox)
    assert mirakl_state(sandbox, "debenhams", order_id) == "REFUSED"
    assert shop_orders(sandbox, order_id) == []
    stored = repo(settings).get("debenhams", order_id)
    assert stored is not None and stored.hub_status is HubStatus.REFUSED
    # Why, kept with the decision (the console and the soak show it).
    [line] = sandbox.mirakl.market("debenhams").orders[order_id].lines
    assert stored.progress.refusals == {line.line_id: "no_stock"}


def test_a_unique_item_ordered_on_two_marketplaces_is_accepted_once(
    sandbox: Sandbox, settings: Settings
) -> None:
    serial = resale_serials(sandbox.catalogue)[1]
    first = sandbox.mirakl.place_order("debenhams", [(serial, 1)])
    second = sandbox.mirakl.place_order("sportshub", [(serial, 1)])
    cycle(settings, sandbox)
    states = sorted(
        [mirakl_state(sandbox, "debenhams", first), mirakl_state(sandbox, "sportshub", second)]
    )
    assert states == ["REFUSED", "WAITING_DEBIT_PAYMENT"]
    assert len(shop_orders(sandbox, first)) + len(shop_orders(sandbox, second)) == 1


def test_unmapped_sku_waits_with_a_deadline_then_a_mapping_lets_it_through(
    sandbox: Sandbox, settings: Settings
) -> None:
    sku = stocked_sku(sandbox.catalogue)
    sandbox.mirakl.load_offers(
        "debenhams",
        [{"shop_sku": "LEGACY-1", "product_id": "0000000000017", "price": 99.0, "quantity": 5}],
    )
    order_id = sandbox.mirakl.place_order("debenhams", [("LEGACY-1", 1)])
    cycle(settings, sandbox)
    assert mirakl_state(sandbox, "debenhams", order_id) == "WAITING_ACCEPTANCE"
    stored = repo(settings).get("debenhams", order_id)
    assert stored is not None and stored.hub_status is HubStatus.WAITING
    log = SqlExceptionLog(create_store_engine(settings.database_url))
    open_ones = {(e.type, e.entity_id): e for e in log.list()}
    waiting = open_ones[("order_waiting", order_id)]
    assert waiting.deadline_at is not None and waiting.owner.value == "ops"
    assert ("unmapped_sku", "LEGACY-1") in open_ones
    repo(settings).add_mapping(
        "debenhams", "LEGACY-1", TargetSystem.SHOPIFY, sku, now=datetime.now(UTC)
    )
    cycle(settings, sandbox)
    assert mirakl_state(sandbox, "debenhams", order_id) == "WAITING_DEBIT_PAYMENT"
    assert len(shop_orders(sandbox, order_id)) == 1
    assert ("order_waiting", order_id) not in {(e.type, e.entity_id) for e in log.list()}


def test_shopify_down_leaves_the_order_waiting_then_recovers(
    sandbox: Sandbox, settings: Settings
) -> None:
    sku = stocked_sku(sandbox.catalogue)
    order_id = sandbox.mirakl.place_order("debenhams", [(sku, 1)])
    shopify = SwitchableTransport(httpx.ASGITransport(app=sandbox.app))
    shopify.down = True
    cycle(settings, sandbox, shopify)
    assert mirakl_state(sandbox, "debenhams", order_id) == "WAITING_ACCEPTANCE"
    stored = repo(settings).get("debenhams", order_id)
    assert stored is not None and stored.hub_status is HubStatus.WAITING
    shopify.down = False
    cycle(settings, sandbox, shopify)
    assert mirakl_state(sandbox, "debenhams", order_id) == "WAITING_DEBIT_PAYMENT"
    assert len(shop_orders(sandbox, order_id)) == 1


class LosesOrderCreateAnswers(httpx.AsyncBaseTransport):
    """Delivers every request, but the answer to ``orderCreate`` never comes back: the
    shop order exists while the hub only sees a timeout (the ambiguous case)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.lost = 0
        self.searches = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = request.content.decode()
        response = await self.inner.handle_async_request(request)
        if "OrderRefsByQuery" in body:
            self.searches += 1
        if "OrderCreateRef" in body and not self.lost:
            self.lost += 1
            raise httpx.ReadTimeout("answer lost", request=request)
        return response


def test_an_order_create_whose_answer_was_lost_is_found_not_created_twice(
    sandbox: Sandbox, settings: Settings
) -> None:
    sku = stocked_sku(sandbox.catalogue)
    order_id = sandbox.mirakl.place_order("debenhams", [(sku, 1)])
    shopify = LosesOrderCreateAnswers(httpx.ASGITransport(app=sandbox.app))
    cycle(settings, sandbox, shopify)
    # The order exists in Shopify, but the hub never heard so: it waits.
    assert shopify.lost == 1
    assert len(shop_orders(sandbox, order_id)) == 1
    assert mirakl_state(sandbox, "debenhams", order_id) == "WAITING_ACCEPTANCE"
    searches_before = shopify.searches
    cycle(settings, sandbox, shopify)
    # The retry searched by sourceIdentifier, found it, created none, and accepted.
    assert shopify.searches == searches_before + 1
    assert len(shop_orders(sandbox, order_id)) == 1
    assert mirakl_state(sandbox, "debenhams", order_id) == "WAITING_DEBIT_PAYMENT"
    stored = repo(settings).get("debenhams", order_id)
    assert stored is not None and stored.shopify_order_id is not None


def test_an_order_auto_refused_before_acceptance_is_re_read(
    sandbox: Sandbox, settings: Settings
) -> None:
    sku = stocked_sku(sandbox.catalogue)
    order_id = sandbox.mirakl.place_order("debenhams", [(sku, 1)])
    shopify = SwitchableTransport(httpx.ASGITransport(app=sandbox.app))
    # The pull sees it waiting; then the marketplace refuses it before our OR21.
    from mirakl_sync.services import order_import

    original = order_import.send_decision

    async def refuse_first(services, oid):  # type: ignore[no-untyped-def]
        order = sandbox.mirakl.market("debenhams").orders[oid]
        _apply(
            order, order.created, {ln.line_id: OrderEvent.ACCEPTANCE_EXPIRED for ln in order.lines}
        )
        return await original(services, oid)

    order_import.send_decision = refuse_first  # type: ignore[assignment]
    import mirakl_sync.workflows.orders as flow

    flow.send_decision = refuse_first  # type: ignore[assignment]
    try:
        cycle(settings, sandbox, shopify)
    finally:
        order_import.send_decision = original  # type: ignore[assignment]
        flow.send_decision = original  # type: ignore[assignment]
    stored = repo(settings).get("debenhams", order_id)
    assert stored is not None and stored.hub_status is HubStatus.REFUSED
    # The shop order made before the refusal is cancelled, the hold released.
    assert all(o.cancelled_at is not None for o in shop_orders(sandbox, order_id))  # type: ignore[attr-defined]
    ledger = SqlStockLedger(create_store_engine(settings.database_url))
    line_id = sandbox.mirakl.market("debenhams").orders[order_id].lines[0].line_id
    reservation = ledger.reservation("debenhams", line_id)
    assert reservation is not None and reservation.status is ReservationStatus.RELEASED


def test_after_acceptance_paid_then_cancelled_and_incident(
    sandbox: Sandbox, settings: Settings
) -> None:
    serial = resale_serials(sandbox.catalogue)[2]
    sku = stocked_sku(sandbox.catalogue)
    paid = sandbox.mirakl.place_order("debenhams", [(sku, 1)])
    cancelled = sandbox.mirakl.place_order("sportshub", [(serial, 1)])
    cycle(settings, sandbox)
    market = sandbox.mirakl.market("debenhams")
    order = market.orders[paid]
    _apply(order, order.last_updated + 1, {ln.line_id: OrderEvent.DEBITED for ln in order.lines})
    other = sandbox.mirakl.market("sportshub").orders[cancelled]
    _apply(other, other.last_updated + 1, {ln.line_id: OrderEvent.CANCELED for ln in other.lines})
    cycle(settings, sandbox)
    shop_paid = shop_orders(sandbox, paid)[0]
    assert shop_paid.financial_status == "PAID"  # type: ignore[attr-defined]
    assert repo(settings).get("debenhams", paid).hub_status is HubStatus.SHIPPING  # type: ignore[union-attr]
    assert shop_orders(sandbox, cancelled)[0].cancelled_at is not None  # type: ignore[attr-defined]
    item = next(i for i in sandbox.supercycle.state.items.values() if i.serial == serial)
    assert item.visibility == "available"
    assert repo(settings).get("sportshub", cancelled).hub_status is HubStatus.CANCELLED  # type: ignore[union-attr]
    # An incident opened by the customer becomes an exception for ops.
    order.lines[0].state = LineState.INCIDENT_OPEN
    order.last_updated += 2
    cycle(settings, sandbox)
    log = SqlExceptionLog(create_store_engine(settings.database_url))
    assert ("order_incident", paid) in {(e.type, e.entity_id) for e in log.list()}


class CancelledByTheWarehouse(httpx.AsyncBaseTransport):
    """Shopify, where the warehouse cancels each shop order the moment the hub has made it
    (before the hub's OR21), and the cancellation flow, finding the marketplace order not
    accepted yet, leaves its mark (``services.shop_cancel_mark``; the cancellation flow's
    own test shows it does)."""

    def __init__(self, sandbox: Sandbox, settings: Settings, market: str) -> None:
        self.inner = httpx.ASGITransport(app=sandbox.app)
        self.sandbox, self.settings, self.market = sandbox, settings, market

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        response = await self.inner.handle_async_request(request)
        if b"orderCreate" not in body:
            return response
        await response.aread()
        created = response.json()["data"]["orderCreate"]["order"]
        self.sandbox.shopify.cancel_order(created["id"])
        order_id = json.loads(body)["variables"]["order"]["sourceIdentifier"]
        mark_cancelled_in_shop(repo(self.settings), self.market, order_id, datetime.now(UTC))
        return httpx.Response(
            response.status_code, headers=response.headers, content=response.content
        )


def test_a_shop_order_cancelled_before_acceptance_is_refused_not_accepted(
    sandbox: Sandbox, settings: Settings
) -> None:
    # Before (issue 10, the soak): the hub accepted it anyway; the customer was debited and
    # the order sat SHIPPING on Mirakl, cancelled in Shopify.
    sku = stocked_sku(sandbox.catalogue)
    serial = resale_serials(sandbox.catalogue)[0]
    order_id = sandbox.mirakl.place_order("debenhams", [(sku, 1), (serial, 1)])
    cycle(settings, sandbox, CancelledByTheWarehouse(sandbox, settings, "debenhams"))
    assert mirakl_state(sandbox, "debenhams", order_id) == "REFUSED"
    stored = repo(settings).get("debenhams", order_id)
    assert stored is not None and stored.hub_status is HubStatus.REFUSED
    assert set(stored.progress.refusals.values()) == {"cancelled_in_shop"}
    # The import is undone: the holds go back to the pool, the unique item is for sale.
    ledger = SqlStockLedger(create_store_engine(settings.database_url))
    for line in sandbox.mirakl.market("debenhams").orders[order_id].lines:
        reservation = ledger.reservation("debenhams", line.line_id)
        assert reservation is not None and reservation.status is ReservationStatus.RELEASED
    item = next(i for i in sandbox.supercycle.state.items.values() if i.serial == serial)
    assert item.visibility == "available"
    [shop_order] = shop_orders(sandbox, order_id)
    assert shop_order.cancelled_at is not None  # type: ignore[attr-defined]
    # The next cycle changes nothing.
    cycle(settings, sandbox)
    assert mirakl_state(sandbox, "debenhams", order_id) == "REFUSED"
    assert len(shop_orders(sandbox, order_id)) == 1


class FirstDecisionFails(httpx.AsyncBaseTransport):
    """Mirakl, whose first OR21 answers 500 without landing."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner, self.failed = inner, False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PUT" and request.url.path.endswith("/accept") and not self.failed:
            self.failed = True
            return httpx.Response(500, json={"status": 500, "message": "injected"})
        return await self.inner.handle_async_request(request)


def test_a_refusal_for_a_cancelled_shop_order_sent_on_a_retry_still_undoes_the_import(
    sandbox: Sandbox, settings: Settings
) -> None:
    sku = stocked_sku(sandbox.catalogue)
    order_id = sandbox.mirakl.place_order("debenhams", [(sku, 1)])
    mirakl = FirstDecisionFails(httpx.ASGITransport(app=sandbox.app))
    routes = transports(sandbox, CancelledByTheWarehouse(sandbox, settings, "debenhams"))
    routes.mirakl["debenhams"] = mirakl
    run_orders_once(settings, transports=routes)
    assert mirakl.failed
    assert mirakl_state(sandbox, "debenhams", order_id) == "REFUSED"
    ledger = SqlStockLedger(create_store_engine(settings.database_url))
    [line] = sandbox.mirakl.market("debenhams").orders[order_id].lines
    reservation = ledger.reservation("debenhams", line.line_id)
    assert reservation is not None and reservation.status is ReservationStatus.RELEASED
