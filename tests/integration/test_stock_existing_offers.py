"""A shop that already sells: offers the hub did not create, variants without barcodes.

The sandbox starts with offers on every marketplace (``sandbox.offers.initial_offers``),
listed before the hub ran. Here part of the Shopify variants lose their barcode, as on
many real shops. STO01 and PRI01 need only the offer SKU, so their stock and price must
still reach those offers; only creating an offer (OF01 with ``product-id``) needs a
barcode, and what the hub cannot do becomes an exception for e-commerce, once.

Same world as ``test_stock_flows`` (fake clock, real Mirakl budgets), on SQLite and,
where it matters (the second run on the same database), PostgreSQL too.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_stock_flows import (  # the shared sandbox world
    CODES,
    STO01_PATH,
    FakeClock,
    Recording,
    World,
    _csv_rows,
)

from mirakl_sync.adapters.store.database import create_store_engine
from mirakl_sync.adapters.store.migrations import upgrade_database
from mirakl_sync.adapters.store.offers import SqlOfferStates
from mirakl_sync.adapters.store.tables import metadata
from mirakl_sync.bootstrap import Transports, bootstrap
from mirakl_sync.config import SandboxSettings, Settings
from mirakl_sync.domain.exceptions import ExceptionRecord, OwnerTeam
from mirakl_sync.domain.pricing import PriceRules, marketplace_price
from mirakl_sync.sandbox.hub_settings import sandbox_hub_settings
from mirakl_sync.sandbox.server import build_sandbox
from mirakl_sync.services.stock_cycles import offer_cycle, price_cycle, stock_cycle
from mirakl_sync.services.stock_services import StockServices

PRI01_PATH = "/offers/pricing/imports"
OF01_PATH = "/offers/imports"
#: "Used" is left out on purpose: the seed's Used resale items cannot be listed.
CONDITIONS = {"Unused": "1", "Damaged (Repairable)": "4"}


def settings_for(database_url: str, **market_extra: Any) -> Settings:
    return sandbox_hub_settings(
        database_url,
        per_market=market_extra,
        supercycle={"listed_tags": ["resale"], "condition_states": CONDITIONS},
    )


def make_world(database_url: str, **market_extra: Any) -> Iterator[World]:
    clock = FakeClock()
    sandbox = build_sandbox(SandboxSettings(orders_per_hour=0, products=24, seed=7), clock=clock)
    settings = settings_for(database_url, **market_extra)
    upgrade_database(settings.database_url)
    engine = create_store_engine(settings.database_url)
    metadata.create_all(engine)
    engine.dispose()
    recording = Recording(httpx.ASGITransport(app=sandbox.app), clock)
    hub = bootstrap(
        settings,
        transports=Transports(
            shopify=recording, supercycle=recording, mirakl={c: recording for c in CODES}
        ),
        clock=clock,
    )
    try:
        yield World(
            sandbox, hub, clock, recording, hub.stock_services(clock=clock, sleep=clock.sleep)
        )
    finally:
        hub.close()


def new_process(world: World) -> StockServices:
    """A context as a fresh ``sync ... --once`` process builds it: no model in memory."""
    return world.hub.stock_services(clock=world.clock, sleep=world.clock.sleep)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    yield from make_world(f"sqlite:///{tmp_path / 'hub.db'}")


@pytest.fixture
def any_db_world(database_url: str) -> Iterator[World]:
    """The world on SQLite, then on PostgreSQL (``database_url`` is parametrised)."""
    yield from make_world(database_url)


@pytest.fixture
def priced_world(tmp_path: Path) -> Iterator[World]:
    yield from make_world(
        f"sqlite:///{tmp_path / 'hub.db'}",
        debenhams={"price_rules": {"markup_percent": 10, "round_to_ending": 0.99}},
    )


def strip_barcodes(world: World) -> list[str]:
    """Remove the barcode of every new-stock variant the marketplaces already list."""
    listed = set(world.sandbox.mirakl.market("debenhams").offers)
    stripped: list[str] = []
    for variant in world.sandbox.shopify.data.variants.values():
        product, _ = world.sandbox.catalogue.variant_by_sku(variant.sku)
        if product.channel == "new" and variant.sku in listed:
            variant.barcode = None
            stripped.append(variant.sku)
    assert stripped, "the seed lists no new-stock variant"
    return sorted(stripped)


def shop_total(world: World, sku: str) -> int:
    variant = next(v for v in world.sandbox.shopify.data.variants.values() if v.sku == sku)
    return sum(
        q
        for (item, _), q in world.sandbox.shopify.data.levels.items()
        if item == variant.inventory_item_id
    )


def stock(world: World) -> Any:
    return world.run(stock_cycle(world.context, track_timeout=300))


def open_exceptions(world: World, kind: str) -> list[ExceptionRecord]:
    return [e for e in world.hub.store.exception_log.list(limit=1000) if e.type == kind]


# --------------------------------------------------------------------------- failure 1


def test_stock_reaches_existing_offers_whose_variants_have_no_barcode(world: World) -> None:
    stripped = strip_barcodes(world)
    # The marketplaces show old quantities (the shop sold since the offers were listed).
    for code in CODES:
        for sku in stripped:
            world.offer(code, sku).quantity = 999
    stock(world)
    for code in CODES:
        posts = world.recording.posts(code, STO01_PATH)
        assert len(posts) == 1, code
        sent = {row["offer-sku"] for row in _csv_rows(posts[0].body)}
        assert set(stripped) <= sent
        for sku in stripped:
            assert world.offer(code, sku).quantity == shop_total(world, sku), (code, sku)
        states = world.context.states.states(code)
        assert all(states[sku]["status"] == "sent" for sku in stripped)
    assert open_exceptions(world, "stock_line_rejected") == []


def test_prices_reach_existing_offers_whose_variants_have_no_barcode(priced_world: World) -> None:
    world = priced_world
    stripped = strip_barcodes(world)
    world.run(price_cycle(world.context, track_timeout=300))
    posts = world.recording.posts("debenhams", PRI01_PATH)
    assert len(posts) == 1
    sent = {row["offer-sku"] for row in _csv_rows(posts[0].body)}
    assert set(stripped) <= sent
    rules = PriceRules(markup_percent=Decimal(10), round_to_ending=Decimal("0.99"))
    for sku in stripped:
        shop_price = world.sandbox.catalogue.variant_by_sku(sku)[1].price
        offer = world.offer("debenhams", sku)
        assert Decimal(str(offer.price)) == marketplace_price(shop_price, rules), sku
    refused = {e.entity_id for e in open_exceptions(world, "price_line_rejected")}
    assert refused.isdisjoint(stripped)


# --------------------------------------------------------------------------- failure 2


def test_a_second_stock_run_on_the_same_database_does_not_crash(any_db_world: World) -> None:
    world = any_db_world
    strip_barcodes(world)
    stock(world)
    skipped_before = {
        sku: row
        for sku, row in world.context.states.states("debenhams").items()
        if row["status"] == "skipped"
    }
    assert skipped_before, "the world has items the hub cannot list (condition Used)"
    world.context = new_process(world)  # the next `sync stock --once`
    stock(world)
    after = world.context.states.states("debenhams")
    assert {sku: after[sku]["status"] for sku in skipped_before} == {
        sku: "skipped" for sku in skipped_before
    }


@pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
def test_marking_known_offers_skipped_again_is_one_write(database_url: str) -> None:
    """The executemany update that crashed: ``status IN (...)`` is an expanding parameter."""
    upgrade_database(database_url)
    engine = create_store_engine(database_url)
    try:
        states = SqlOfferStates(engine)
        now = datetime.now(UTC)
        states.record_desired_quantities("debenhams", {"A": 3}, now)
        states.mark_skipped("debenhams", {"A": "first reason", "B": "first reason"}, now)
        states.mark_skipped("debenhams", {"A": "second reason", "B": "second reason"}, now)
        rows = states.states("debenhams")
        assert {sku: (r["status"], r["message"]) for sku, r in rows.items()} == {
            "A": ("skipped", "second reason"),
            "B": ("skipped", "second reason"),
        }
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- the rule


def test_an_item_the_hub_cannot_list_is_one_ecommerce_exception_until_it_can(
    world: World,
) -> None:
    stock(world)
    skipped = {
        sku
        for sku, row in world.context.states.states("debenhams").items()
        if row["status"] == "skipped"
    }
    assert skipped
    found = open_exceptions(world, "offer_not_listed")
    assert {e.entity_id for e in found} == skipped
    for record in found:
        assert record.owner is OwnerTeam.ECOMMERCE
        assert "condition_states" in record.message  # what to do
    world.context = new_process(world)
    stock(world)
    again = open_exceptions(world, "offer_not_listed")
    assert sorted(e.id for e in again) == sorted(e.id for e in found)  # no duplicates
    assert all(e.count == 2 for e in again)
    # The cause goes away: the item is regraded to a mapped condition.
    serial = sorted(skipped)[0]
    item = next(i for i in world.sandbox.supercycle.state.items.values() if i.serial == serial)
    item.condition_id = 1
    world.context = new_process(world)
    stock(world)
    still_open = {e.entity_id for e in open_exceptions(world, "offer_not_listed")}
    assert still_open == skipped - {serial}
    resolved = world.hub.store.exception_log.list(status=None, limit=1000)
    assert any(e.entity_id == serial and e.status.value == "resolved" for e in resolved)


def test_an_offer_the_hub_cannot_create_is_an_exception_with_what_to_do(world: World) -> None:
    stripped = strip_barcodes(world)
    missing = stripped[0]
    # The offer exists on sportshub and maisonhome, but was never listed on debenhams.
    world.sandbox.mirakl.market("debenhams").offers.pop(missing)
    stock(world)
    world.run(offer_cycle(world.context, track_timeout=300))
    posts = world.recording.posts("debenhams", OF01_PATH)
    assert len(posts) == 1
    assert f"\n{missing};".encode() not in posts[0].body.replace(b'"', b"")
    found = open_exceptions(world, "offer_not_creatable")
    assert [(e.marketplace, e.entity_id, e.owner) for e in found] == [
        ("debenhams", missing, OwnerTeam.ECOMMERCE)
    ]
    assert "barcode" in found[0].message and "offers status" in found[0].message
    # The other stripped offers exist everywhere: their stock went out, nothing to report.
    world.context = new_process(world)
    world.run(offer_cycle(world.context, track_timeout=300))
    again = open_exceptions(world, "offer_not_creatable")
    assert [(e.id, e.count) for e in again] == [(found[0].id, 2)]
    # A barcode is added in Shopify: the next refresh creates the offer and clears it.
    variant = next(v for v in world.sandbox.shopify.data.variants.values() if v.sku == missing)
    variant.barcode = "5012345678900"
    world.context = new_process(world)
    world.run(offer_cycle(world.context, track_timeout=300))
    assert open_exceptions(world, "offer_not_creatable") == []
    assert missing in world.sandbox.mirakl.market("debenhams").offers


# --------------------------------------------------------------------------- offers the hub
# learns from the marketplace's offer export


def sell_out(world: World, sku: str) -> None:
    for location_id in world.sandbox.shopify.data.locations:
        world.sandbox.shopify.set_available(sku, location_id, 0)


def test_a_variant_listed_before_the_hub_that_sold_out_goes_to_zero(world: World) -> None:
    sku = strip_barcodes(world)[0]
    sell_out(world, sku)
    for code in CODES:
        world.offer(code, sku).quantity = 7  # the previous connector's last value
    stock(world)
    for code in CODES:
        assert world.offer(code, sku).quantity == 0, code
        assert world.context.states.states(code)[sku]["status"] == "sent"
    assert open_exceptions(world, "stock_line_rejected") == []


def test_an_offer_matching_nothing_is_left_alone_and_reported_once(world: World) -> None:
    world.sandbox.mirakl.load_offers(
        "debenhams", [{"shop_sku": "LEGACY-1", "product_id": "1", "price": 5, "quantity": 3}]
    )
    stock(world)
    assert world.offer("debenhams", "LEGACY-1").quantity == 3  # never zeroed blindly
    sent = {
        row["offer-sku"]
        for row in _csv_rows(world.recording.posts("debenhams", STO01_PATH)[0].body)
    }
    assert "LEGACY-1" not in sent
    found = open_exceptions(world, "offer_unmatched")
    assert [(e.marketplace, e.entity_id, e.owner) for e in found] == [
        ("debenhams", "LEGACY-1", OwnerTeam.ECOMMERCE)
    ]
    world.context = new_process(world)
    stock(world)  # the next run: a differential export at most, the same one exception
    again = open_exceptions(world, "offer_unmatched")
    assert [(e.id, e.count) for e in again] == [(found[0].id, 2)]
    full_exports = [
        c
        for c in world.recording.posts("debenhams", "/offers/export/async")
        if b"last_request_date" not in c.body
    ]
    assert len(full_exports) == 1
