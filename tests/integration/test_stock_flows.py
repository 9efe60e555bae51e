"""Stock, price and offer flows against the in-process sandbox (all three emulators).

Time is a fake clock shared by the emulators, the hub's call budgets and its sleeps, so
the REAL Mirakl budgets (one STO01 a minute per marketplace ...) apply, in fake seconds.
"""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from mirakl_sync.adapters.store.database import create_store_engine
from mirakl_sync.adapters.store.migrations import upgrade_database
from mirakl_sync.adapters.store.tables import metadata
from mirakl_sync.bootstrap import Hub, Transports, bootstrap
from mirakl_sync.config import SandboxSettings, Settings
from mirakl_sync.domain.exceptions import OwnerTeam
from mirakl_sync.domain.item_availability import BlockScope
from mirakl_sync.domain.pricing import PriceRules, marketplace_price
from mirakl_sync.domain.stock_pool import LineHold
from mirakl_sync.sandbox.hub_settings import sandbox_hub_settings, sqlite_url
from mirakl_sync.sandbox.server import (
    MARKETPLACES,
    Sandbox,
    build_sandbox,
)
from mirakl_sync.services.stock_cycles import (
    book,
    drift_cycle,
    offer_cycle,
    price_cycle,
    stock_cycle,
)
from mirakl_sync.services.stock_services import StockServices
from mirakl_sync.services.stock_sync import MarketStock

CODES = [m.code for m in MARKETPLACES]
STO01_PATH = "/offers/stock/imports"


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(hour=10, minute=0).timestamp()

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


@dataclass
class Call:
    at: float
    method: str
    path: str
    status: int
    body: bytes


@dataclass
class Recording(httpx.AsyncBaseTransport):
    inner: httpx.AsyncBaseTransport
    clock: FakeClock
    calls: list[Call] = field(default_factory=list)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread() if request.method == "POST" else b""
        response = await self.inner.handle_async_request(request)
        self.calls.append(
            Call(self.clock(), request.method, request.url.path, response.status_code, body)
        )
        return response

    def posts(self, code: str, suffix: str) -> list[Call]:
        return [
            c for c in self.calls if c.method == "POST" and c.path == f"/mirakl/{code}/api{suffix}"
        ]


@dataclass
class World:
    sandbox: Sandbox
    hub: Hub
    clock: FakeClock
    recording: Recording
    context: StockServices

    def run(self, coroutine: Any) -> Any:
        return asyncio.run(coroutine)

    def offer(self, code: str, sku: str) -> Any:
        return self.sandbox.mirakl.market(code).offers[sku]


def settings_for(tmp_path: Path, **market_extra: Any) -> Settings:
    return sandbox_hub_settings(
        sqlite_url(tmp_path),
        per_market=market_extra,
        supercycle={
            "listed_tags": ["resale"],
            "condition_states": {"Unused": "1", "Used": "3", "Damaged (Repairable)": "4"},
        },
    )


@pytest.fixture
def world(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[World]:
    extra = getattr(request, "param", {})
    clock = FakeClock()
    sandbox = build_sandbox(SandboxSettings(orders_per_hour=0, products=24, seed=7), clock=clock)
    settings = settings_for(tmp_path, **extra)
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
    context = hub.stock_services(clock=clock, sleep=clock.sleep)
    try:
        yield World(sandbox, hub, clock, recording, context)
    finally:
        hub.close()


def converge(world: World) -> None:
    """A first full offer refresh (OF01 NORMAL), tracked to the end."""
    world.run(offer_cycle(world.context, track_timeout=300))


def stock(world: World) -> Any:
    return world.run(stock_cycle(world.context, track_timeout=300))


def listed_item(world: World) -> Any:
    """A resale item the hub lists with quantity 1 on every marketplace."""
    states = world.context.states.states("debenhams")
    for item in world.sandbox.catalogue.items:
        row = states.get(item.serial)
        if row and row["desired_quantity"] == 1:
            return item
    raise AssertionError("no listed Supercycle item in the seed")


def new_variant(world: World) -> tuple[str, int]:
    for product, variant in world.sandbox.catalogue.variants():
        if product.channel == "new" and sum(variant.inventory.values()) > 0:
            return variant.sku, sum(variant.inventory.values())
    raise AssertionError("no new variant with stock in the seed")


def test_offer_refresh_is_normal_and_converges_every_marketplace(world: World) -> None:
    for code in CODES:
        world.sandbox.mirakl.load_offers(
            code, [{"shop_sku": "FOREIGN-1", "product_id": "1", "price": 5, "quantity": 3}]
        )
    converge(world)
    for code in CODES:
        posts = world.recording.posts(code, "/offers/imports")
        assert len(posts) == 1
        assert b'name="import_mode"\r\n\r\nNORMAL' in posts[0].body
        # NORMAL: an offer not in the file is left alone (REPLACE would delete it)
        assert not world.offer(code, "FOREIGN-1").deleted
    states = world.context.states.states("maisonhome")
    for sku, row in states.items():
        if row["status"] != "sent":
            continue
        offer = world.offer("maisonhome", sku)
        assert offer.quantity == row["sent_quantity"], sku
        assert Decimal(str(offer.price)) == Decimal(row["sent_price"]), sku
    assert world.context.states.open_imports("maisonhome", "offers") == []


def test_a_shopify_stock_change_reaches_all_marketplaces_in_one_sto01_each(world: World) -> None:
    converge(world)
    stock(world)
    before = {c: len(world.recording.posts(c, STO01_PATH)) for c in CODES}
    sku, _total = new_variant(world)
    world.sandbox.shopify.set_available(sku, 70001, 40)
    expected = 40 + sum(
        q
        for loc, q in world.sandbox.catalogue.variant_by_sku(sku)[1].inventory.items()
        if loc != 70001
    )
    report = stock(world)
    for code in CODES:
        posts = world.recording.posts(code, STO01_PATH)
        assert len(posts) == before[code] + 1
        rows = _csv_rows(posts[-1].body)
        assert rows == [
            {"offer-sku": sku, "quantity": str(expected), "warehouse-code": "", "update-delete": ""}
        ]
        assert world.offer(code, sku).quantity == expected
    assert {p.marketplace: p.lines for p in report.pushes} == {c: 1 for c in CODES}
    assert all(c.status != 429 for c in world.recording.calls)


@pytest.mark.parametrize("event", ["sold_on_web_store", "rented", "blocked_today", "retired"])
def test_a_supercycle_item_that_cannot_be_sold_goes_to_zero_everywhere(
    world: World, event: str
) -> None:
    converge(world)
    item = listed_item(world)
    assert all(world.offer(code, item.serial).quantity == 1 for code in CODES)
    supercycle = world.sandbox.supercycle
    if event == "sold_on_web_store":
        supercycle.state.items[item.id].visibility = "sold"
    elif event == "rented":
        today = datetime.fromtimestamp(world.clock(), UTC).date()
        supercycle.create_rental(item.id, first=today, last=today + timedelta(days=2))
    elif event == "blocked_today":
        today = datetime.fromtimestamp(world.clock(), UTC).date()
        supercycle.block(BlockScope.ITEM, item.id, today, today)
    else:
        supercycle.state.items[item.id].visibility = "retired"
    stock(world)
    for code in CODES:
        assert world.offer(code, item.serial).quantity == 0, code
        assert world.context.states.states(code)[item.serial]["sent_quantity"] == 0


def test_held_reservations_reduce_every_marketplace(world: World) -> None:
    converge(world)
    sku, total = new_variant(world)
    held = world.context.ledger.hold(
        LineHold(sku, "debenhams", "ORDER-1", "ORDER-1-1", 2),
        source_available=total,
        now=datetime.fromtimestamp(world.clock(), UTC),
    )
    assert held.reservation is not None
    stock(world)
    for code in CODES:
        assert world.offer(code, sku).quantity == total - 2


def test_an_sto03_error_line_becomes_a_per_sku_exception(world: World) -> None:
    converge(world)
    sku, _total = new_variant(world)
    # The offer vanished on one marketplace (deleted in its back office).
    world.sandbox.mirakl.market("sportshub").offers[sku].deleted = True
    world.sandbox.shopify.set_available(sku, 70001, 50)
    stock(world)
    row = world.context.states.states("sportshub")[sku]
    assert row["status"] == "error"
    assert "Unknown offer-sku" in row["message"]
    found = world.hub.store.exception_log.list(marketplace="sportshub")
    assert [(e.type, e.entity_id, e.owner) for e in found] == [
        ("stock_line_rejected", sku, OwnerTeam.ECOMMERCE)
    ]
    # The other marketplaces took the line.
    assert world.context.states.states("debenhams")[sku]["status"] == "sent"
    assert world.hub.store.exception_log.list(marketplace="debenhams") == []


@pytest.mark.parametrize(
    "world",
    [{"debenhams": {"price_rules": {"markup_percent": 10, "round_to_ending": 0.99}}}],
    indirect=True,
)
def test_pri01_sends_the_full_price_set_of_each_changed_offer(world: World) -> None:
    converge(world)
    sku, _ = new_variant(world)
    offer = world.offer("debenhams", sku)
    offer.discount_price = float(offer.price) - 1  # a discount set by hand in the back office
    # Only debenhams has a rule and the refresh already sent its prices: make one change.
    world.context.states.mark_prices_sent("debenhams", {sku: "0.01"}, datetime.now(UTC))
    world.run(price_cycle(world.context, track_timeout=300))
    posts = world.recording.posts("debenhams", "/offers/pricing/imports")
    assert len(posts) == 1
    rows = _csv_rows(posts[0].body)
    assert [r["offer-sku"] for r in rows] == [sku]  # one line = the offer's whole price set
    shop_price = world.sandbox.catalogue.variant_by_sku(sku)[1].price
    expected = marketplace_price(
        shop_price, PriceRules(markup_percent=Decimal(10), round_to_ending=Decimal("0.99"))
    )
    assert Decimal(rows[0]["price"]) == expected
    offer = world.offer("debenhams", sku)
    assert Decimal(str(offer.price)) == expected
    assert offer.discount_price is None  # delete-and-replace: the hand-set discount is gone
    for code in ("sportshub", "maisonhome"):
        assert world.recording.posts(code, "/offers/pricing/imports") == []


def test_drift_from_the_offer_export_is_detected_and_corrected(world: World) -> None:
    converge(world)
    stock(world)
    sku, total = new_variant(world)
    target = world.offer("maisonhome", sku)
    target.quantity = 99  # changed by hand in the back office
    target.last_updated = world.clock()
    reports = world.run(drift_cycle(world.context))
    by_code = {r.marketplace: r for r in reports}
    assert by_code["maisonhome"].mismatches == {sku: (total, 99)}
    assert by_code["debenhams"].mismatches == {}
    row = world.context.states.states("maisonhome")[sku]
    assert (row["status"], row["marketplace_quantity"]) == ("pending", 99)
    stock(world)
    assert world.offer("maisonhome", sku).quantity == total
    assert world.context.states.states("maisonhome")[sku]["status"] == "sent"


def test_stock_pushes_wait_for_the_next_slot_instead_of_exceeding_the_budget(
    world: World,
) -> None:
    converge(world)
    sku, _ = new_variant(world)
    for quantity in (30, 31, 32):
        world.sandbox.shopify.set_available(sku, 70001, quantity)
        world.run(stock_cycle(world.context))  # no tracking: pushes as fast as allowed
    for code in CODES:
        times = [c.at for c in world.recording.posts(code, STO01_PATH)]
        assert len(times) == 3
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert all(gap >= 60 for gap in gaps), gaps
    assert [c for c in world.recording.calls if c.status == 429] == []


def test_repeated_changes_between_slots_coalesce_into_one_line(world: World) -> None:
    converge(world)
    sku, _ = new_variant(world)
    sync = world.context.stock_sync()
    markets = [MarketStock(m.code, book(m)) for m in world.hub.settings.marketplaces]
    for quantity in (11, 12, 13):
        world.sandbox.shopify.set_available(sku, 70001, quantity)
        sync.plan(world.run(world.context.snapshot()), markets)
    pending = world.context.states.pending_quantities("debenhams")
    other = sum(
        q
        for loc, q in world.sandbox.catalogue.variant_by_sku(sku)[1].inventory.items()
        if loc != 70001
    )
    assert pending == {sku: 13 + other}
    stock(world)
    rows = _csv_rows(world.recording.posts("debenhams", STO01_PATH)[-1].body)
    assert rows == [
        {"offer-sku": sku, "quantity": str(13 + other), "warehouse-code": "", "update-delete": ""}
    ]


def _csv_rows(multipart: bytes) -> list[dict[str, str]]:
    text = multipart.decode()
    start = text.index('"offer-sku"')
    end = text.index("\r\n--", start)
    return list(csv.DictReader(io.StringIO(text[start:end]), delimiter=";"))


def test_shopify_clients_of_one_clock_share_the_shops_bucket(world: World) -> None:
    """Orders and dispatch (default wall clock) and the stock flow in production (its
    clock is wall time too) pace against one bucket; a client on another clock (this
    test's fake one) gets its own, since a bucket cannot be refilled on two clocks."""
    hub = world.hub
    wall = [hub.shopify(), hub.shopify(background=True)]
    fake = [hub.shopify(clock=world.clock), hub.shopify(clock=world.clock, background=True)]
    try:
        assert wall[0].bucket is wall[1].bucket
        assert fake[0].bucket is fake[1].bucket
        assert wall[0].bucket is not fake[0].bucket
    finally:
        for client in wall + fake:
            asyncio.run(client.aclose())
