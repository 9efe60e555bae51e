"""Incremental stock against the in-process sandbox: only what changed is read and pushed.

Same world as ``test_stock_flows`` (fake clock, real Mirakl budgets). A change reaches
the hub as it would in production: Shopify's ``inventory_levels/update`` webhook (the
emulator's own delivery, captured and handed to the hub's webhook callback), the
Supercycle ``updated`` poll, or a hold in the stock ledger; the full read stays the
reconcile.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from test_stock_flows import (  # the shared sandbox world
    CODES,
    World,
    converge,
    listed_item,
    new_variant,
    stock,
    world,
)

from mirakl_sync.adapters.store.tables import bindings
from mirakl_sync.domain.stock_pool import LineHold
from mirakl_sync.sandbox.shopify import WebhookMessage
from mirakl_sync.services.change_feed import SHOP_ITEM
from mirakl_sync.services.stock_cycles import incremental_stock_cycle
from mirakl_sync.workflows.stock import inventory_webhook_handler

__all__ = ["world"]  # the fixture, imported for pytest

GRAPHQL = "/admin/api/2026-10/graphql.json"


def subscribe_hub(world: World) -> list[WebhookMessage]:
    """Deliver the emulator's inventory webhooks to the hub's webhook callback."""
    handler = inventory_webhook_handler(world.hub.store.engine, clock=world.clock)
    delivered: list[WebhookMessage] = []

    async def deliver(message: WebhookMessage) -> None:
        delivered.append(message)
        handler(message.topic, message.payload(), message.headers)

    world.sandbox.shopify.webhook_sender = deliver
    world.sandbox.shopify.subscribe("INVENTORY_LEVELS_UPDATE", "http://hub/webhooks/shopify")
    return delivered


def shopify_queries(world: World, since: int) -> list[dict[str, Any]]:
    """The GraphQL requests sent to Shopify after call number ``since``: operation, vars."""
    out = []
    for call in world.recording.calls[since:]:
        if call.path == GRAPHQL:
            body = json.loads(call.body)
            name = re.search(r"(?:query|mutation)\s+(\w+)", body["query"])
            out.append(
                {"name": name.group(1) if name else None, "variables": body.get("variables") or {}}
            )
    return out


def stock_reads(queries: list[dict[str, Any]]) -> list[str | None]:
    """The ``query`` of every variant stock page read (None = the whole catalogue)."""
    return [q["variables"].get("query") for q in queries if q["name"] == "VariantStockPage"]


def incremental(world: World) -> Any:
    return world.run(incremental_stock_cycle(world.context, track_timeout=300))


def other_locations(world: World, sku: str) -> int:
    inventory = world.sandbox.catalogue.variant_by_sku(sku)[1].inventory
    return sum(q for loc, q in inventory.items() if loc != 70001)


def test_an_inventory_webhook_reaches_every_marketplace_reading_only_that_sku(
    world: World,
) -> None:
    converge(world)
    stock(world)  # the full read: the model, and the inventory item bindings
    delivered = subscribe_hub(world)
    sku, _ = new_variant(world)
    world.sandbox.shopify.set_available(sku, 70001, 41)
    world.run(world.sandbox.shopify.drain_webhooks())
    assert [m.topic for m in delivered] == ["inventory_levels/update"]
    assert world.context.changes.dirty(SHOP_ITEM)  # durable, before any cycle runs

    before = len(world.recording.calls)
    report = incremental(world)

    expected = 41 + other_locations(world, sku)
    for code in CODES:
        assert world.offer(code, sku).quantity == expected, code
    assert {p.marketplace: p.lines for p in report.pushes} == {c: 1 for c in CODES}
    # One small query for that SKU, no full read, no inventoryItem lookup (bound).
    reads = stock_reads(shopify_queries(world, before))
    assert reads == [f'sku:"{sku}"'] or reads == [f"sku:{sku}"], reads
    assert [q["name"] for q in shopify_queries(world, before)] == ["VariantStockPage"]
    assert world.context.changes.dirty(SHOP_ITEM) == {}


def test_an_unknown_inventory_item_is_read_once_then_bound(world: World) -> None:
    converge(world)
    stock(world)
    sku, _ = new_variant(world)
    variant = world.sandbox.catalogue.variant_by_sku(sku)[1]
    item_id = str(world.sandbox.shopify.data.variants[variant.id].inventory_item_id)
    # Forget the binding learnt by the full read: the webhook's item is unknown.
    with world.hub.store.engine.begin() as connection:
        connection.execute(
            sa.delete(bindings).where(
                bindings.c.system == "shopify", bindings.c.external_id == item_id
            )
        )
    assert world.context.changes.skus_of_items([item_id]) == {}
    world.context.note_inventory_webhook({"inventory_item_id": int(item_id), "location_id": 1})
    world.sandbox.shopify.set_available(sku, 70001, 17)
    before = len(world.recording.calls)
    incremental(world)
    names = [q["name"] for q in shopify_queries(world, before)]
    assert names == ["InventoryItem", "VariantStockPage"]
    assert world.context.changes.skus_of_items([item_id]) == {item_id: sku}
    for code in CODES:
        assert world.offer(code, sku).quantity == 17 + other_locations(world, sku)


def test_a_supercycle_item_change_arrives_through_the_updated_poll(world: World) -> None:
    converge(world)
    stock(world)
    item = listed_item(world)
    world.clock.now += 10  # past the poll interval (supercycle.poll_seconds = 5)
    world.sandbox.supercycle.state.update_item(item.id, {"visibility": "sold"})
    before = len(world.recording.calls)
    incremental(world)
    for code in CODES:
        assert world.offer(code, item.serial).quantity == 0, code
    assert stock_reads(shopify_queries(world, before)) == []  # Shopify untouched
    items_reads = [
        c for c in world.recording.calls[before:] if c.path.endswith("/items") and c.method == "GET"
    ]
    assert len(items_reads) == 1  # the poll itself; its items are used as read


def test_a_hold_lowers_every_marketplace_at_the_next_tick_without_a_full_read(
    world: World,
) -> None:
    converge(world)
    stock(world)
    sku, total = new_variant(world)
    held = world.context.ledger.hold(
        LineHold(sku, "debenhams", "ORDER-1", "ORDER-1-1", 2),
        source_available=total,
        now=datetime.fromtimestamp(world.clock(), UTC),
    )
    assert held.reservation is not None
    before = len(world.recording.calls)
    incremental(world)
    for code in CODES:
        assert world.offer(code, sku).quantity == total - 2, code
    assert None not in stock_reads(shopify_queries(world, before))  # no full read
    # The release gives the units back at the next tick.
    world.context.ledger.release("debenhams", "ORDER-1-1", datetime.now(UTC))
    incremental(world)
    for code in CODES:
        assert world.offer(code, sku).quantity == total, code


def test_the_reconcile_catches_a_change_whose_webhook_was_lost(world: World) -> None:
    converge(world)
    stock(world)
    sku, _ = new_variant(world)
    world.sandbox.shopify.set_available(sku, 70001, 23)  # no subscription: no webhook
    expected = 23 + other_locations(world, sku)
    incremental(world)
    assert all(world.offer(code, sku).quantity != expected for code in CODES)
    world.clock.now += world.hub.settings.shopify.reconcile_minutes * 60
    before = len(world.recording.calls)
    incremental(world)
    assert None in stock_reads(shopify_queries(world, before))  # the full read ran
    for code in CODES:
        assert world.offer(code, sku).quantity == expected, code


def test_a_new_process_starts_with_a_full_read_and_keeps_earlier_dirty_keys(
    world: World,
) -> None:
    converge(world)
    stock(world)
    sku, _ = new_variant(world)
    world.context.note_inventory_webhook({"inventory_item_id": 1, "location_id": 1})
    # A restart: a new context has no model, so its first cycle is the full read.
    fresh = world.hub.stock_services(clock=world.clock, sleep=world.clock.sleep)
    assert fresh.changes.dirty(SHOP_ITEM).keys() == {"1"}
    assert fresh.reconcile_due()
    world.sandbox.shopify.set_available(sku, 70001, 29)
    world.run(incremental_stock_cycle(fresh, track_timeout=300))
    assert fresh.changes.dirty(SHOP_ITEM) == {}  # the full read saw it
    for code in CODES:
        assert world.offer(code, sku).quantity == 29 + other_locations(world, sku)


def test_a_key_marked_again_while_read_stays_dirty(world: World) -> None:
    keys = world.context.changes
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    keys.mark(SHOP_ITEM, ["7", "8"], t0)
    seen = keys.dirty(SHOP_ITEM)
    keys.mark(SHOP_ITEM, ["8"], t0 + timedelta(seconds=1))
    keys.clear(SHOP_ITEM, seen)
    assert set(keys.dirty(SHOP_ITEM)) == {"8"}


def test_shopify_order_create_sends_a_decremented_inventory_webhook(world: World) -> None:
    delivered = subscribe_hub(world)
    sku, _ = new_variant(world)
    variant = world.sandbox.catalogue.variant_by_sku(sku)[1]
    record = world.sandbox.shopify.data.variants[variant.id]
    levels = world.sandbox.shopify.data.levels
    before = {loc: q for (i, loc), q in levels.items() if i == record.inventory_item_id}
    order, error = world.sandbox.shopify.create_order(
        {"sourceName": "mirakl"},
        [{"variant_id": variant.id, "price": Decimal("10"), "quantity": 2}],
        "DECREMENT_OBEYING_POLICY",
    )
    assert error is None and order is not None
    world.run(world.sandbox.shopify.drain_webhooks())
    inventory = [m.payload() for m in delivered if m.topic == "inventory_levels/update"]
    assert len(inventory) == 1
    payload = inventory[0]
    assert payload["inventory_item_id"] == record.inventory_item_id
    assert payload["available"] == before[payload["location_id"]] - 2


@pytest.mark.parametrize("sku", ["X-1"])
def test_a_webhook_of_another_topic_marks_nothing(world: World, sku: str) -> None:
    handler = inventory_webhook_handler(world.hub.store.engine, clock=world.clock)
    handler("orders/create", {"inventory_item_id": 5}, {})
    assert world.context.changes.dirty(SHOP_ITEM) == {}
