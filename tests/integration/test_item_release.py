"""A cancelled sale gives its unique Supercycle item back, once (issue 10, item 5).

* Cancelled in Shopify: OR29 (the whole order) or OR30 (the item's line) makes the item
  available again in Supercycle; before, only the hub's stock hold was released and the
  item stayed ``sold`` for ever.
* Once: after the release the item may be sold again; a repeated cancellation (webhook
  replay, a pass, the order's follow-up after the marketplace cancelled) must not make
  that new sale's item available.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from dispatch_env import Env, run, with_kit
from orders_sandbox import hub_settings, resale_serials, transports
from sqlalchemy import update

from mirakl_sync.adapters.store.migrations import upgrade_database
from mirakl_sync.adapters.store.orders import SqlOrderRepository
from mirakl_sync.adapters.store.stock_ledger import SqlStockLedger
from mirakl_sync.adapters.store.tables import marketplace_orders
from mirakl_sync.adapters.supercycle.inventory import SupercycleInventory
from mirakl_sync.bootstrap import bootstrap
from mirakl_sync.config import SandboxSettings, Settings
from mirakl_sync.domain.marketplace_order import OrderEvent
from mirakl_sync.domain.stock_pool import LineHold
from mirakl_sync.entrypoints.orders_once import run_orders_once
from mirakl_sync.sandbox.mirakl.orders import _apply
from mirakl_sync.sandbox.server import Sandbox, build_sandbox
from mirakl_sync.services.cancellations import CancelStatus
from mirakl_sync.services.item_release import ItemRelease


def visibility(env_or_sandbox: Env | Sandbox, item_id: int) -> str:
    sandbox = env_or_sandbox.sandbox if isinstance(env_or_sandbox, Env) else env_or_sandbox
    return str(sandbox.supercycle.state.item(item_id).visibility)


def sold_by_the_hub(env: Env, market: str, order_id: str, serials: list[str]) -> list[int]:
    """What the order flow leaves after accepting unique items: each item ``sold`` in
    Supercycle, its id in the order's ``sold_items``, a committed hold per line."""
    state = env.sandbox.supercycle.state
    ids = {i.serial: i.id for i in state.items.values()}
    item_ids = [ids[s] for s in serials]
    for item_id in item_ids:
        state.update_item(item_id, {"visibility": "sold"})
    order = env.mirakl_order(market, order_id)
    now = datetime.fromtimestamp(env.now[0], UTC)
    ledger = SqlStockLedger(env.hub.store.engine)
    for line in order.lines:
        hold = LineHold(line.offer_sku, market, order_id, line.line_id, line.quantity)
        assert ledger.hold(hold, source_available=1, now=now).decision.granted
        ledger.commit(market, line.line_id, now)
    progress = {
        "lines": {ln.line_id: True for ln in order.lines},
        "or21_sent": True,
        "sold_items": item_ids,
        "shop_order_pending": False,
    }
    with env.hub.store.engine.begin() as connection:
        connection.execute(
            update(marketplace_orders)
            .where(marketplace_orders.c.marketplace == market)
            .where(marketplace_orders.c.order_id == order_id)
            .values(decisions=progress)
        )
    return item_ids


def resale_serials_in_stock(env: Env, market: str, count: int) -> list[str]:
    state = env.sandbox.supercycle.state
    today = state.today()
    bookable = {
        i.serial for i in state.items.values() if state.is_bookable(i.id, today, None) and i.serial
    }
    return [s for s in env.offer_skus(market) if s in bookable][:count]


def test_a_shop_cancellation_makes_the_sold_item_available_again_once(tmp_path: Path) -> None:
    env = Env(tmp_path)
    [serial] = resale_serials_in_stock(env, "sportshub", 1)
    order_id, shop = run(env.accepted_order("sportshub", [(serial, 1)]))
    [item_id] = sold_by_the_hub(env, "sportshub", order_id, [serial])
    env.sandbox.shopify.cancel_order(shop)

    result = run(with_kit(env, lambda kit: kit.cancellations.cancel_order("sportshub", order_id)))
    assert result.status == CancelStatus.CANCELLED
    assert visibility(env, item_id) == "available"

    # Sold again (say in the shop); then the same cancellation comes again (a replay, a
    # pass): the new sale's item is left sold.
    env.sandbox.supercycle.state.update_item(item_id, {"visibility": "sold"})
    again = run(with_kit(env, lambda kit: kit.cancellations.cancel_in_pass("sportshub", order_id)))
    assert again.status == CancelStatus.ALREADY
    assert visibility(env, item_id) == "sold"
    env.close()


def test_a_cancelled_line_gives_back_its_item_only(tmp_path: Path) -> None:
    env = Env(tmp_path, market_overrides={"debenhams": {"cancel_reason": "35"}})
    first, second = resale_serials_in_stock(env, "debenhams", 2)
    order_id, _ = run(env.accepted_order("debenhams", [(first, 1), (second, 1)]))
    kept_id, cancelled_id = sold_by_the_hub(env, "debenhams", order_id, [first, second])
    result = run(
        with_kit(env, lambda kit: kit.cancellations.cancel_skus("debenhams", order_id, {second: 1}))
    )
    assert result.status == CancelStatus.LINES_CANCELLED
    assert visibility(env, cancelled_id) == "available"
    assert visibility(env, kept_id) == "sold"
    env.close()


def test_a_retired_item_stays_retired(tmp_path: Path) -> None:
    env = Env(tmp_path)
    [serial] = resale_serials_in_stock(env, "sportshub", 1)
    order_id, _ = run(env.accepted_order("sportshub", [(serial, 1)]))
    [item_id] = sold_by_the_hub(env, "sportshub", order_id, [serial])
    env.sandbox.supercycle.state.update_item(item_id, {"visibility": "retired"})
    result = run(with_kit(env, lambda kit: kit.cancellations.cancel_order("sportshub", order_id)))
    assert result.status == CancelStatus.CANCELLED
    assert visibility(env, item_id) == "retired"
    env.close()


# ------------------------------------------------------------------ the order follow-up


@pytest.fixture
def sandbox() -> Sandbox:
    return build_sandbox(SandboxSettings(orders_per_hour=0, call_frequency_scale=0))


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    settings = hub_settings(tmp_path)
    upgrade_database(settings.database_url)
    yield settings


def test_a_marketplace_cancellation_seen_again_does_not_release_the_items_new_sale(
    sandbox: Sandbox, settings: Settings
) -> None:
    serial = resale_serials(sandbox.catalogue)[3]
    item_id = next(i.id for i in sandbox.supercycle.state.items.values() if i.serial == serial)
    first = sandbox.mirakl.place_order("sportshub", [(serial, 1)])
    run_orders_once(settings, transports=transports(sandbox))
    assert visibility(sandbox, item_id) == "sold"
    # The marketplace cancels the accepted order: the follow-up gives the item back.
    order = sandbox.mirakl.market("sportshub").orders[first]
    _apply(order, order.last_updated + 1, {ln.line_id: OrderEvent.CANCELED for ln in order.lines})
    run_orders_once(settings, transports=transports(sandbox))
    assert visibility(sandbox, item_id) == "available"
    # Sold again, on another marketplace, by the hub.
    second = sandbox.mirakl.place_order("debenhams", [(serial, 1)])
    run_orders_once(settings, transports=transports(sandbox))
    assert sandbox.mirakl.market("debenhams").orders[second].state.value != "REFUSED"
    assert visibility(sandbox, item_id) == "sold"
    # The follow-up cancelled the shop order too; Shopify's orders/cancelled webhook (or
    # the shipments pass) now runs the shop-side cancellation of the first order: it finds
    # the order cancelled on Mirakl and must not give the item back a second time.
    hub = bootstrap(settings, transports=transports(sandbox))
    try:

        async def cancel() -> CancelStatus:
            async with hub.dispatch_services() as kit:
                return (await kit.cancellations.cancel_in_pass("sportshub", first)).status

        assert run(cancel()) == CancelStatus.ALREADY
    finally:
        hub.close()
    assert visibility(sandbox, item_id) == "sold"
    # The cancelled order changes again on Mirakl (a message, a late update): its
    # follow-up may run again and must leave the new sale alone too.
    order.last_updated += 5
    run_orders_once(settings, transports=transports(sandbox))
    assert visibility(sandbox, item_id) == "sold"


# ------------------------------------------------------------------ killed mid-release


class Killed(BaseException):
    """The process killed (SIGKILL): nothing after this point runs, no handler either."""


class KilledOnce:
    """Supercycle's items, where the first release is killed before its call ends (a
    30 s hang, the hub killed meanwhile: the soak's kills every 15 to 60 s)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.kill = True

    async def make_available(self, item_id: int) -> None:
        if self.kill:
            self.kill = False
            raise Killed
        await self.inner.make_available(item_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _release(
    env: Env, market: str, order_id: str, item_id: int, *, kill: bool = False
) -> list[int]:
    async def body() -> list[int]:
        client = env.hub.supercycle()
        assert client is not None
        async with client:
            items: Any = SupercycleInventory(client)
            if kill:
                items = KilledOnce(items)
            repository = SqlOrderRepository(env.hub.store.engine)
            release = ItemRelease.on_clock(items, repository, None, lambda: env.now[0])
            return await release.release_items(market, order_id, [item_id])

    return run(body())


def _killed_mid_release(tmp_path: Path) -> tuple[Env, str, str, int]:
    """An accepted sportshub order that sold one item, whose release was killed mid-call:
    (env, the item's serial, the order id, the item id)."""
    env = Env(tmp_path)
    [serial] = resale_serials_in_stock(env, "sportshub", 1)
    order_id, _ = run(env.accepted_order("sportshub", [(serial, 1)]))
    [item_id] = sold_by_the_hub(env, "sportshub", order_id, [serial])
    with pytest.raises(Killed):
        _release(env, "sportshub", order_id, item_id, kill=True)
    return env, serial, order_id, item_id


def test_a_release_killed_before_its_call_ended_is_made_by_the_next_attempt(
    tmp_path: Path,
) -> None:
    # Before (issue 10, the soaks: an item left sold in a 10-minute SQLite run), the
    # release was marked done before its call: killed meanwhile, the next attempt (the
    # step's retry, the next pass) skipped it, and the item stayed sold for good.
    env, _, order_id, item_id = _killed_mid_release(tmp_path)
    assert visibility(env, item_id) == "sold"

    assert _release(env, "sportshub", order_id, item_id) == [item_id]
    assert visibility(env, item_id) == "available"
    # Done now: once.
    env.sandbox.supercycle.state.update_item(item_id, {"visibility": "sold"})
    assert _release(env, "sportshub", order_id, item_id) == []
    assert visibility(env, item_id) == "sold"
    env.close()


def test_a_killed_release_leaves_alone_an_item_the_hub_sold_again_since(
    tmp_path: Path,
) -> None:
    # The killed call may have landed: the item, for sale again, was then sold by the hub
    # on another order. Making it available now would sell it twice.
    env, serial, order_id, item_id = _killed_mid_release(tmp_path)
    other, _ = run(env.accepted_order("debenhams", [(serial, 1)]))
    assert sold_by_the_hub(env, "debenhams", other, [serial]) == [item_id]

    assert _release(env, "sportshub", order_id, item_id) == []
    assert visibility(env, item_id) == "sold"
    env.close()
