"""The ``existing-shop`` sandbox seed holds what a shop that already sells holds."""

from __future__ import annotations

from datetime import datetime

import pytest

from mirakl_sync.config import SandboxSettings, settings_from_mapping
from mirakl_sync.errors import ConfigError
from mirakl_sync.sandbox.existing_shop import PREVIOUS_CONNECTOR, ExistingShop
from mirakl_sync.sandbox.offers import initial_offers
from mirakl_sync.sandbox.seed import build_catalogue
from mirakl_sync.sandbox.server import MARKETPLACES, Sandbox, build_sandbox

NOW = 1_796_000_000.0  # a fixed clock: 2026-11-29


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    settings = SandboxSettings(seed_name="existing-shop", products=40, orders_per_hour=0)
    return build_sandbox(settings, clock=lambda: NOW)


def seeded(sandbox: Sandbox) -> ExistingShop:
    assert sandbox.seeded is not None
    return sandbox.seeded


def test_every_marketplace_has_stale_offers_made_outside_the_hub_some_without_barcodes(
    sandbox: Sandbox,
) -> None:
    variants = {v.sku: v for _, v in sandbox.catalogue.variants()}
    serials = {i.serial for i in sandbox.catalogue.items}
    for market in MARKETPLACES:
        offers = [o for o in seeded(sandbox).offers if o.marketplace == market.code]
        assert {o.shop_sku for o in offers} == set(sandbox.mirakl.market(market.code).offers)
        assert all(o.shop_sku in variants or o.shop_sku in serials for o in offers)
        bare = [o for o in offers if o.kind == "variant" and not o.has_barcode]
        assert bare and all(variants[o.shop_sku].barcode is None for o in bare)
        # Stale: no variant offer shows the shop's quantity or price.
        for offer in (o for o in offers if o.kind == "variant"):
            variant = variants[offer.shop_sku]
            assert offer.quantity != sum(variant.inventory.values())
            assert offer.price != float(variant.price)
        assert any(sum(variants[o.shop_sku].inventory.values()) == 0 for o in bare + offers)
    # No import ever reached the emulated marketplaces: the offers were put there directly.
    assert all(not sandbox.mirakl.market(m.code).imports for m in MARKETPLACES)


def test_some_variants_have_no_barcode_in_shopify_and_some_have_no_offer(sandbox: Sandbox) -> None:
    barcodes = [v.barcode for v in sandbox.shopify.data.variants.values()]
    assert None in barcodes and any(barcodes)
    unlisted = seeded(sandbox).unlisted
    assert {has for _, has in unlisted} == {True, False}
    listed = {o.shop_sku for o in seeded(sandbox).offers}
    assert not listed & {sku for sku, _ in unlisted}


def test_orders_predate_the_install_in_the_states_the_first_day_expects(sandbox: Sandbox) -> None:
    shop = seeded(sandbox)
    purposes = {o.purpose for o in shop.orders}
    assert purposes == {
        "waiting",
        "ship",
        "ship_unlinked",
        "unfulfilled",
        "refund",
        "refund_sent",
        "refund_closed",
    }
    shopify = sandbox.shopify.data
    for order in shop.orders:
        market = sandbox.mirakl.market(order.marketplace)
        placed = market.orders[order.order_id]
        assert placed.state.value == order.state
        assert placed.created < shop.installed_at
        if order.purpose == "waiting":
            assert order.state == "WAITING_ACCEPTANCE" and order.shopify_order is None
            assert NOW - placed.created < sandbox.settings.acceptance_window_seconds
            continue
        assert order.shopify_order is not None
        rec = shopify.orders[int(order.shopify_order.rsplit("/", 1)[-1])]
        assert rec.source_name == PREVIOUS_CONNECTOR
        assert (rec.source_identifier == order.order_id) == order.has_source_identifier
        fulfilled = bool(rec.fulfillment_ids)
        assert fulfilled == (order.purpose != "unfulfilled")
        if order.purpose in ("ship", "ship_unlinked", "unfulfilled"):
            assert order.state == "SHIPPING" and not rec.refund_ids
            continue
        # Refunded in Shopify after the parcel shipped on Mirakl.
        assert order.state in ("SHIPPED", "RECEIVED", "CLOSED")
        (refund_id,) = rec.refund_ids
        refunded_at = datetime.fromisoformat(shopify.refunds[refund_id].created_at).timestamp()
        assert placed.shipped_at is not None and refunded_at > placed.shipped_at
        mirakl_refunds = [r for line in placed.lines for r in line.refunds]
        assert bool(mirakl_refunds) == (order.purpose == "refund_sent") == order.refund_sent
    assert {o.state for o in shop.orders if o.purpose == "refund"} == {"SHIPPED", "RECEIVED"}
    assert [o.state for o in shop.orders if o.purpose == "refund_closed"] == ["CLOSED"]
    assert [o.has_source_identifier for o in shop.orders if o.purpose == "ship_unlinked"] == [False]


def test_web_store_orders_are_not_marketplace_orders(sandbox: Sandbox) -> None:
    shop = seeded(sandbox)
    shopify = sandbox.shopify.data
    kinds = []
    for gid in shop.web_orders:
        rec = shopify.orders[int(gid.rsplit("/", 1)[-1])]
        assert rec.source_name == "web" and rec.source_identifier is None
        kinds.append((bool(rec.fulfillment_ids), bool(rec.refund_ids)))
    assert kinds == [(False, False), (True, False), (True, True)]


def test_a_listed_item_was_sold_since_and_nothing_of_the_hub_is_there(sandbox: Sandbox) -> None:
    shop = seeded(sandbox)
    (serial,) = shop.sold_items
    item = next(i for i in sandbox.supercycle.state.items.values() if i.serial == serial)
    assert item.visibility == "sold"
    assert all(sandbox.mirakl.market(m.code).offers[serial].quantity == 1 for m in MARKETPLACES)
    # Nothing cached or subscribed: no webhook subscription, no call answered yet.
    assert not sandbox.shopify.data.subscriptions
    assert all(not calls for calls in sandbox.mirakl.calls.values())


def test_the_default_seed_is_unchanged() -> None:
    sandbox = build_sandbox(SandboxSettings(products=40, orders_per_hour=0), clock=lambda: NOW)
    assert sandbox.seeded is None
    catalogue = build_catalogue(products=40, seed=42)
    assert sandbox.catalogue == catalogue
    assert all(v.barcode for _, v in catalogue.variants())
    expected = {o["shop_sku"]: o["quantity"] for o in initial_offers(catalogue)}
    for market in MARKETPLACES:
        offers = sandbox.mirakl.market(market.code).offers
        assert {sku: o.quantity for sku, o in offers.items()} == expected
        assert not sandbox.mirakl.market(market.code).orders
    assert not sandbox.shopify.data.orders


def test_the_seed_name_is_validated() -> None:
    shop = {"shop": "x.myshopify.com", "access_token": "t"}
    ok = settings_from_mapping({"shopify": shop, "sandbox": {"seed_name": "existing-shop"}})
    assert ok.sandbox.seed_name == "existing-shop"
    assert SandboxSettings().seed_name == "default"
    with pytest.raises(ConfigError) as raised:
        settings_from_mapping({"shopify": shop, "sandbox": {"seed_name": "existing_shop"}})
    assert "sandbox.seed_name" in str(raised.value.problems)
