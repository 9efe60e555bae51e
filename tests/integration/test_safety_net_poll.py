"""The shipments/refunds safety net: a poll of what changed in the shop since its cursor.

No webhook is subscribed in these tests (``Env`` registers none), so only the poll can
carry a fulfilment, a refund or a cancellation to the marketplace.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from dispatch_env import CallCounter, Env, run
from sqlalchemy import update

from mirakl_sync.adapters.store.cursors import SqlCursors
from mirakl_sync.adapters.store.tables import marketplace_orders
from mirakl_sync.adapters.supercycle.models import MethodType
from mirakl_sync.services.dispatch_types import DispatchStatus
from mirakl_sync.workflows import dispatch as dispatch_workflows
from mirakl_sync.workflows import pass_units
from mirakl_sync.workflows.dispatch import run_refunds_cycle, run_shipments_cycle


def refunds_on(env: Env, market: str, order_id: str) -> list[Any]:
    return [r for ln in env.mirakl_order(market, order_id).lines for r in ln.refunds]


def shop_requests(env: Env) -> int:
    return sum(env.sandbox.shopify.requests_by_operation.values())


def record_as_closed(env: Env, market: str, order_id: str) -> None:
    """What the orders flow's next pull records for an order Mirakl shows SHIPPED."""
    stamp = datetime.fromtimestamp(env.now[0], UTC)
    with env.hub.store.engine.begin() as connection:
        connection.execute(
            update(marketplace_orders)
            .where(
                marketplace_orders.c.marketplace == market,
                marketplace_orders.c.order_id == order_id,
            )
            .values(hub_status="closed", state="SHIPPED", updated_at=stamp)
        )


def touch_index(env: Env, market: str, order_id: str) -> None:
    """The orders flow rewrote the row (e.g. a new OR11 read): it is the most recent."""
    stamp = datetime.fromtimestamp(env.now[0], UTC)
    with env.hub.store.engine.begin() as connection:
        connection.execute(
            update(marketplace_orders)
            .where(
                marketplace_orders.c.marketplace == market,
                marketplace_orders.c.order_id == order_id,
            )
            .values(updated_at=stamp)
        )


def test_a_refund_made_after_shipment_reaches_the_marketplace_by_polling_once(
    tmp_path: Path,
) -> None:
    env = Env(tmp_path)
    sku = env.offer_skus("debenhams")[0]
    order_id, shop = run(env.accepted_order("debenhams", [(sku, 1)]))
    with env.workflows():
        env.now[0] += 60
        env.sandbox.shopify.fulfil_order(shop, "Royal Mail", "RM100")
        [shipped] = run_shipments_cycle(env.settings)
        assert shipped.status == DispatchStatus.SHIPPED, shipped
        assert env.mirakl_order("debenhams", order_id).state.value == "SHIPPED"
        record_as_closed(env, "debenhams", order_id)
        # The parcel comes back; the shop refunds it (no webhook reaches the hub).
        env.now[0] += 3600
        env.sandbox.shopify.refund_order(shop, restock_type="RETURN")
        run_refunds_cycle(env.settings)
        assert len(refunds_on(env, "debenhams", order_id)) == 1
        # The next passes (the overlap re-reads the order) send nothing more: its asks
        # are those a pass handled, so it is skipped.
        assert run_refunds_cycle(env.settings) == []
        env.now[0] += 3600
        run_refunds_cycle(env.settings)
        assert len(refunds_on(env, "debenhams", order_id)) == 1
    env.close()


def test_a_fulfilment_of_an_order_older_than_the_old_window_is_shipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The old poll read the POLL_ORDERS (500) most recently updated orders of the index;
    # shrunk to 2 here, the third order plays the 501st. The new poll has no such window
    # (the attribute may no longer exist), and pages of one walk the changes page by page.
    monkeypatch.setattr(dispatch_workflows, "POLL_ORDERS", 2, raising=False)
    monkeypatch.setattr(pass_units, "SHOP_PAGE_SIZE", 1)
    env = Env(tmp_path)
    skus = env.offer_skus("debenhams")[:3]
    oldest, oldest_shop = run(env.accepted_order("debenhams", [(skus[0], 1)]))
    newer = []
    for sku in skus[1:]:
        env.now[0] += 60
        newer.append(run(env.accepted_order("debenhams", [(sku, 1)]))[0])
    with env.workflows():
        env.now[0] += 3600
        for order_id in newer:
            touch_index(env, "debenhams", order_id)
        env.sandbox.shopify.fulfil_order(oldest_shop, "Royal Mail", "RM200")
        results = run_shipments_cycle(env.settings)
        assert [r.status for r in results] == [DispatchStatus.SHIPPED], results
        assert env.mirakl_order("debenhams", oldest).state.value == "SHIPPED"
        assert [env.mirakl_order("debenhams", o).state.value for o in newer] == [
            "SHIPPING",
            "SHIPPING",
        ]
    env.close()


def test_a_pass_with_no_new_changes_reads_one_page_however_many_orders_are_on_file(
    tmp_path: Path,
) -> None:
    env = Env(tmp_path)
    shops = []
    for sku in env.offer_skus("debenhams")[:5]:
        shops.append(run(env.accepted_order("debenhams", [(sku, 1)]))[1])
    with env.workflows():
        env.now[0] += 3600
        env.sandbox.shopify.fulfil_order(shops[0], "Royal Mail", "RM300")
        [first] = run_shipments_cycle(env.settings)
        assert first.status == DispatchStatus.SHIPPED
        # Nothing changed since: one page (the overlap re-reading the last change).
        before = shop_requests(env)
        assert run_shipments_cycle(env.settings) == []  # re-read, unchanged: skipped
        assert shop_requests(env) - before == 1
        assert env.sandbox.shopify.requests_by_operation["OrdersChangedSince"] == 2
        # Much later, still nothing new: still one page, and nothing re-sent.
        env.now[0] += 3600
        before = shop_requests(env)
        run_shipments_cycle(env.settings)
        assert shop_requests(env) - before == 1
    assert len(env.sandbox.mirakl.market("debenhams").shipments) == 1
    env.close()


class FailingShopify(httpx.AsyncBaseTransport):
    """Answers HTTP 500 to Shopify requests number ``fail_from`` .. ``fail_from + times - 1``
    of this transport (the client retries a query three times, so four failures in a row
    make one call fail)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, *, fail_from: int, times: int) -> None:
        self.inner = inner
        self.fail_from = fail_from
        self.times = times
        self.count = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/graphql.json"):
            self.count += 1
            if self.fail_from <= self.count < self.fail_from + self.times:
                return httpx.Response(500, json={"errors": "Internal Server Error"})
        return await self.inner.handle_async_request(request)


def test_a_page_that_fails_leaves_the_cursor_in_place_and_the_next_pass_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pass_units, "SHOP_PAGE_SIZE", 1)
    env = Env(tmp_path)
    a, b = env.offer_skus("debenhams")[:2]
    order_a, shop_a = run(env.accepted_order("debenhams", [(a, 1)]))
    order_b, shop_b = run(env.accepted_order("debenhams", [(b, 1)]))
    failing = FailingShopify(env.transport, fail_from=2, times=4)
    env.rewire(shopify=failing)
    with env.workflows():
        env.now[0] += 3600
        env.sandbox.shopify.fulfil_order(shop_a, "Royal Mail", "RM401")
        env.now[0] += 60
        env.sandbox.shopify.fulfil_order(shop_b, "Royal Mail", "RM402")
        # The first page (order A) goes through; the second (order B) fails.
        results = run_shipments_cycle(env.settings)
        assert [r.order_id for r in results] == [order_a], results
        assert env.mirakl_order("debenhams", order_a).state.value == "SHIPPED"
        assert env.mirakl_order("debenhams", order_b).state.value == "SHIPPING"
        cursor = SqlCursors(env.hub.store.engine).get("shop-changes", "shipments")
        a_changed = env.sandbox.shopify.data.orders[int(shop_a.rsplit("/", 1)[-1])].updated_at
        assert cursor is not None and datetime.fromisoformat(cursor) == datetime.fromisoformat(
            a_changed
        )
        # The next pass resumes from the cursor: B ships, A is not shipped twice.
        results = run_shipments_cycle(env.settings)
        assert env.mirakl_order("debenhams", order_b).state.value == "SHIPPED"
        assert {r.order_id: r.status for r in results}[order_b] == DispatchStatus.SHIPPED
    assert len(env.sandbox.mirakl.market("debenhams").shipments) == 2
    env.close()


def test_a_shop_cancellation_after_acceptance_cancels_the_marketplace_order_by_polling(
    tmp_path: Path,
) -> None:
    env = Env(tmp_path)
    sku = env.offer_skus("sportshub")[0]
    order_id, shop = run(env.accepted_order("sportshub", [(sku, 1)]))
    with env.workflows():
        env.now[0] += 600
        env.sandbox.shopify.cancel_order(shop)
        assert run_shipments_cycle(env.settings) == []
        assert env.mirakl_order("sportshub", order_id).state.value == "CANCELED"
        # Read again in the overlap: the order re-read on Mirakl, nothing sent twice.
        run_shipments_cycle(env.settings)
        assert env.mirakl_order("sportshub", order_id).state.value == "CANCELED"
    env.close()


def test_supercycle_returns_are_read_by_what_changed_after_the_first_pass(tmp_path: Path) -> None:
    env = Env(tmp_path, top={"refunds": {"supercycle_trigger": "received"}})
    counter = CallCounter(env.sandbox.app)
    env.rewire(supercycle=httpx.ASGITransport(app=counter))
    supercycle = env.sandbox.supercycle

    def returned(index: int) -> tuple[str, int]:
        order_id, shop, item_id, _ = env.resale_sale("debenhams", index)
        cycle = supercycle.create_rental(
            item_id, method_type=MethodType.RESALE, shopify_order_id=int(shop.rsplit("/", 1)[-1])
        )
        supercycle.fulfil_rental(cycle.id)
        [line] = supercycle.create_return([cycle.id]).lines
        return order_id, line.id

    first_order, first_line = returned(0)
    with env.workflows(clock=lambda: env.now[0]):
        supercycle.receive_return_line(first_line, 2)
        run_refunds_cycle(env.settings)  # the first pass reads every return order
        assert len(refunds_on(env, "debenhams", first_order)) == 1
        # A return received after the first pass is found through its changed rental.
        env.now[0] += 7200
        second_order, second_line = returned(1)
        supercycle.receive_return_line(second_line, 2)
        before = counter.count("GET", "/return_orders")
        run_refunds_cycle(env.settings)
        assert len(refunds_on(env, "debenhams", second_order)) == 1
        assert counter.count("GET", "/return_orders") == before  # not every return again
        # Hours later with nothing new: the overlap re-reads the last change once (the
        # cursor is the previous pass's start), then no return order is read at all.
        env.now[0] += 7200
        assert run_refunds_cycle(env.settings) == ["already_sent"]
        env.now[0] += 7200
        calls = len(counter.calls)
        assert run_refunds_cycle(env.settings) == []
        assert [p for _, p in counter.calls[calls:] if "/return_orders" in p] == []
    assert len(refunds_on(env, "debenhams", first_order)) == 1
    env.close()
