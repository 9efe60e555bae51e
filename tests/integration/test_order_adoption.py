"""Orders from before the hub (issue 9): a shop that already sold on its marketplaces, with
a previous connector, the day the hub is installed on a cold database.

The ``existing-shop`` seed (``mirakl_sync.sandbox.existing_shop``) holds, per purpose:
``ship`` (SHIPPING, its Shopify order made by the previous connector with
``sourceIdentifier`` = the Mirakl order id, fulfilled, never shipped on Mirakl),
``ship_unlinked`` (the same without ``sourceIdentifier``), ``refund`` (SHIPPED or RECEIVED
days ago, outside the first pull's window, refunded in Shopify 6 h ago), ``refund_sent``
(that refund already sent by the previous connector) and ``refund_closed`` (CLOSED; the
operator takes no refund any more: OR28 answers 400).

The orders flow runs its pull as the first ``sync orders --once`` would (the service,
without the engine); shipments and refunds run their polling passes. No webhook reaches
the hub: only the passes can carry anything.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dispatch_env
import pytest
from dispatch_env import Env

from mirakl_sync.adapters.mirakl.marketplace import MiraklMarketplace
from mirakl_sync.adapters.mirakl.order_lookup import MiraklOrderLookup
from mirakl_sync.adapters.store.cursors import SqlCursors
from mirakl_sync.adapters.store.orders import SqlOrderRepository
from mirakl_sync.config import SandboxSettings
from mirakl_sync.domain.exceptions import ExceptionRecord
from mirakl_sync.sandbox.existing_shop import SeededOrder
from mirakl_sync.sandbox.server import MARKETPLACES, build_sandbox
from mirakl_sync.services.order_pull import PullSettings, pull_orders
from mirakl_sync.workflows.dispatch import run_refunds_cycle, run_shipments_cycle

WINDOW_HOURS = 1.0


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    def existing_shop(settings: SandboxSettings, **kwargs: Any) -> Any:
        changed = settings.model_copy(
            update={
                "seed_name": "existing-shop",
                "acceptance_window_seconds": WINDOW_HOURS * 3600,
            }
        )
        return build_sandbox(changed, **kwargs)

    monkeypatch.setattr(dispatch_env, "build_sandbox", existing_shop)
    overrides = {m.code: {"acceptance_window_hours": WINDOW_HOURS} for m in MARKETPLACES}
    world = Env(tmp_path, market_overrides=overrides)
    with world.workflows():
        yield world
    world.close()


def seeded(env: Env, purpose: str) -> list[SeededOrder]:
    assert env.sandbox.seeded is not None
    return [o for o in env.sandbox.seeded.orders if o.purpose == purpose]


def first_pulls(env: Env) -> None:
    """The first pull of every marketplace (no watermark yet), as `sync orders --once`."""

    async def pull(code: str) -> None:
        async with env.hub.mirakl(env.settings.marketplace(code)) as client:
            await pull_orders(
                MiraklMarketplace(client, code),
                SqlOrderRepository(env.hub.store.engine),
                PullSettings(code, 0.0, WINDOW_HOURS, 24.0),
                now=datetime.fromtimestamp(env.now[0], UTC),
            )

    for market in MARKETPLACES:
        asyncio.run(pull(market.code))


def open_exceptions(env: Env, type_: str) -> list[ExceptionRecord]:
    return [r for r in env.hub.store.exception_log.list(limit=1000) if r.type == type_]


def refunds_of(env: Env, order: SeededOrder) -> dict[str, int]:
    mirakl = env.mirakl_order(order.marketplace, order.order_id)
    return {line.offer_sku: len(line.refunds) for line in mirakl.lines}


def test_the_first_pull_stores_the_open_orders_a_previous_connector_accepted(env: Env) -> None:
    first_pulls(env)
    repository = SqlOrderRepository(env.hub.store.engine)
    for order in seeded(env, "ship") + seeded(env, "unfulfilled"):
        stored = repository.get(order.marketplace, order.order_id)
        assert stored is not None, f"{order.purpose} {order.order_id} was never pulled"
        assert stored.order.state == "SHIPPING"


def test_a_shipping_order_of_the_previous_connector_is_shipped_once_with_its_tracking(
    env: Env,
) -> None:
    first_pulls(env)
    run_shipments_cycle(env.settings)
    run_shipments_cycle(env.settings)
    orders = seeded(env, "ship")
    assert orders
    for order in orders:
        mirakl = env.mirakl_order(order.marketplace, order.order_id)
        assert mirakl.state.value == "SHIPPED", (order.order_id, mirakl.state)
        assert mirakl.tracking_number, order.order_id
    shop = env.sandbox.shopify.data.orders.values()
    for order in orders:
        # Adopted, never made again.
        assert sum(1 for o in shop if o.source_identifier == order.order_id) == 1
    for order in seeded(env, "unfulfilled"):
        assert env.mirakl_order(order.marketplace, order.order_id).state.value == "SHIPPING"
    repository = SqlOrderRepository(env.hub.store.engine)
    for order in orders:
        stored = repository.get(order.marketplace, order.order_id)
        assert stored is not None and stored.shopify_order_id == order.shopify_order


def test_a_shipping_order_no_shop_order_names_is_an_ops_exception_once(env: Env) -> None:
    first_pulls(env)
    run_shipments_cycle(env.settings)
    run_refunds_cycle(env.settings)
    run_shipments_cycle(env.settings)
    [unlinked] = seeded(env, "ship_unlinked")
    found = [r for r in open_exceptions(env, "order_unlinked") if r.entity_id == unlinked.order_id]
    assert len(found) == 1, open_exceptions(env, "order_unlinked")
    [record] = found
    # Looked up once: the next passes wait for the order to change (or an hour).
    assert record.count == 1
    assert record.owner.value == "ops"
    assert record.marketplace == unlinked.marketplace
    assert unlinked.order_id in record.message and "sourceIdentifier" in record.message
    # Only the unlinked order is one: the others were found.
    assert {r.entity_id for r in open_exceptions(env, "order_unlinked")} == {unlinked.order_id}


def test_a_refund_after_shipment_of_an_order_older_than_the_first_window_is_sent_once(
    env: Env,
) -> None:
    first_pulls(env)
    run_refunds_cycle(env.settings)
    run_refunds_cycle(env.settings)
    orders = seeded(env, "refund")
    assert len(orders) == 2
    for order in orders:
        expected = {sku: int(sku in order.refunded_skus) for sku in order.skus}
        assert refunds_of(env, order) == expected, order.order_id


def test_a_refund_the_previous_connector_already_sent_is_not_sent_again(env: Env) -> None:
    first_pulls(env)
    run_refunds_cycle(env.settings)
    run_refunds_cycle(env.settings)
    [order] = seeded(env, "refund_sent")
    assert refunds_of(env, order) == {sku: int(sku in order.refunded_skus) for sku in order.skus}


def test_a_refund_of_a_closed_order_the_operator_refuses_is_one_finance_exception(
    env: Env,
) -> None:
    first_pulls(env)
    run_refunds_cycle(env.settings)
    run_refunds_cycle(env.settings)
    [order] = seeded(env, "refund_closed")
    assert sum(refunds_of(env, order).values()) == 0
    finance = [
        r
        for r in env.hub.store.exception_log.list(limit=1000)
        if r.owner.value == "finance" and order.order_id in f"{r.message} {r.details}"
    ]
    assert len(finance) == 1, finance
    assert finance[0].count == 1, "the refused refund was sent again"


def test_web_store_orders_are_left_alone_and_looked_up_at_most_once(env: Env) -> None:
    first_pulls(env)
    run_shipments_cycle(env.settings)
    run_refunds_cycle(env.settings)
    assert env.sandbox.seeded is not None
    records = env.hub.store.exception_log.list(limit=1000)
    for gid in env.sandbox.seeded.web_orders:
        legacy = gid.rsplit("/", 1)[-1]
        assert not [r for r in records if gid in str(r.details) or legacy == r.entity_id]


def test_an_adopted_order_is_read_once_even_when_its_events_are_older_than_the_cursor(
    env: Env,
) -> None:
    # A hub already polling (its cursor is now) when it first sees the previous
    # connector's orders: their fulfilments, hours old, are behind the cursor.
    stamp = datetime.fromtimestamp(env.now[0], UTC)
    SqlCursors(env.hub.store.engine).put(
        "shop-changes", "shipments", stamp.isoformat().replace("+00:00", "Z"), stamp
    )
    first_pulls(env)
    run_shipments_cycle(env.settings)
    for order in seeded(env, "ship"):
        assert env.mirakl_order(order.marketplace, order.order_id).state.value == "SHIPPED"
    # Read once: nothing is left to catch up.
    assert not SqlOrderRepository(env.hub.store.engine).cursors_of("shop-catch-up", "shipments|")


def test_a_shop_order_with_a_source_identifier_no_marketplace_knows_is_asked_about_once(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[tuple[str, tuple[str, ...]]] = []
    real = MiraklOrderLookup.by_ids

    async def counting(self: Any, marketplace: str, order_ids: Any) -> Any:
        asked.append((marketplace, tuple(order_ids)))
        return await real(self, marketplace, order_ids)

    monkeypatch.setattr(MiraklOrderLookup, "by_ids", counting)
    shopify = env.sandbox.shopify
    sku = next(iter(env.offer_skus("debenhams")))
    variant = next(v for v in shopify.data.variants.values() if v.sku == sku)
    line = {
        "variant_id": variant.id,
        "sku": sku,
        "quantity": 1,
        "price": 10,
        "requiresShipping": True,
    }
    data = {"sourceName": "another-app", "sourceIdentifier": "EXT-1", "financialStatus": "PAID"}
    record, error = shopify.create_order(data, [line], "BYPASS")
    assert record is not None, error
    first_pulls(env)
    run_refunds_cycle(env.settings)
    run_refunds_cycle(env.settings)  # the overlap reads the order again
    env.now[0] += 600
    run_shipments_cycle(env.settings)
    about = [ids for _, ids in asked if "EXT-1" in ids]
    assert len(about) == len(MARKETPLACES), asked
