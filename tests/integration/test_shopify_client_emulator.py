"""The Shopify client against the Shopify emulator, in-process through httpx.ASGITransport."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest

from mirakl_sync.adapters.shopify.client import ShopifyClient
from mirakl_sync.adapters.shopify.errors import ShopifyUserError, WebhookSignatureError
from mirakl_sync.adapters.shopify.models import OrderCreateInput
from mirakl_sync.adapters.shopify.webhooks import parse_webhook, verify_webhook
from mirakl_sync.errors import AuthenticationError, RateLimitedError
from mirakl_sync.sandbox.seed import SeedCatalogue, build_catalogue
from mirakl_sync.sandbox.shopify import ShopifyEmulator, WebhookMessage

URL = "http://fjellrev.myshopify.com/admin/api/2026-10/graphql.json"
TOKEN = "sandbox-shopify-token"
SECRET = "sandbox-webhook-secret"


class FakeTime:
    """One clock for the emulator and the client; sleeping advances it."""

    def __init__(self) -> None:
        self.now = 1_790_000_000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Shop:
    def __init__(self, products: int = 8, *, frozen_shop: bool = False, **options: Any) -> None:
        self.time = FakeTime()
        self.delivered: list[WebhookMessage] = []
        self.catalogue: SeedCatalogue = build_catalogue(products=products, seed=7)
        start = self.time.now
        # A frozen shop clock never refills the bucket, however long the client waits.
        clock = (lambda: start) if frozen_shop else self.time
        self.emulator = ShopifyEmulator(clock=clock, webhook_sender=self._capture, **options)
        self.emulator.load_catalogue(self.catalogue)

    async def _capture(self, message: WebhookMessage) -> None:
        self.delivered.append(message)

    def client(self, token: str = TOKEN, **options: Any) -> ShopifyClient:
        return ShopifyClient(
            URL,
            token,
            transport=httpx.ASGITransport(app=self.emulator.asgi_app()),
            clock=self.time,
            sleep=self.time.sleep,
            **options,
        )

    def run(self, call: Callable[[ShopifyClient], Awaitable[Any]], **options: Any) -> Any:
        async def go() -> Any:
            async with self.client(**options) as client:
                result = await call(client)
            await self.emulator.drain_webhooks()
            return result

        return asyncio.run(go())

    def new_variant(self, in_stock: bool = True) -> tuple[str, str, int]:
        """(sku, variant gid, inventory item id) of a Shopify-stocked variant."""
        for product, variant in self.catalogue.variants():
            if product.channel == "new" and (sum(variant.inventory.values()) > 2) == in_stock:
                return (
                    variant.sku,
                    f"gid://shopify/ProductVariant/{variant.id}",
                    (variant.inventory_item_id),
                )
        raise AssertionError("the seed has no such variant")


def order_input(variant_gid: str, source_identifier: str = "MK-1001-A") -> OrderCreateInput:
    money = {"shopMoney": {"amount": "49.99", "currencyCode": "GBP"}}
    return {
        "sourceIdentifier": source_identifier,
        "sourceName": "mirakl",
        "tags": ["mirakl", "mirakl:debenhams"],
        "email": "buyer@example.com",
        "financialStatus": "PAID",
        "lineItems": [
            {
                "variantId": variant_gid,
                "quantity": 2,
                "priceSet": money,
                "taxLines": [
                    {
                        "title": "VAT",
                        "rate": "0.2",
                        "priceSet": {"shopMoney": {"amount": "16.66", "currencyCode": "GBP"}},
                    }
                ],
            }
        ],
        "shippingLines": [
            {
                "title": "Standard",
                "priceSet": {"shopMoney": {"amount": "4.95", "currencyCode": "GBP"}},
            }
        ],
        "taxesIncluded": True,
        "shippingAddress": {
            "firstName": "Ada",
            "lastName": "Lovelace",
            "address1": "1 Main St",
            "city": "Leeds",
            "zip": "LS1 1AA",
            "countryCode": "GB",
        },
    }


def test_shop_info_and_locations() -> None:
    shop = Shop()

    async def call(client: ShopifyClient) -> Any:
        return await client.shop_info(), await client.locations()

    info, locations = shop.run(call)
    assert info.myshopify_domain == "fjellrev.myshopify.com"
    assert info.currency_code == "GBP"
    assert [(loc.legacy_id, loc.name) for loc in locations] == list(shop.catalogue.locations)


def test_variant_stock_pages_through_every_variant_with_available_per_location() -> None:
    shop = Shop(products=12)

    async def call(client: ShopifyClient) -> list[Any]:
        return [v async for v in client.variant_stock(page_size=7, levels=5)]

    variants = shop.run(call)
    expected = shop.catalogue.variants()
    assert len(variants) == len(expected) > 7 * 3  # several pages
    by_sku = {v.sku: v for v in variants}
    for product, seed in expected:
        got = by_sku[seed.sku]
        assert got.legacy_id == seed.id
        assert got.barcode == seed.barcode
        assert got.price == seed.price
        assert got.tracked == (product.channel == "new")
        assert {lvl.location_legacy_id: lvl.available for lvl in got.levels} == {
            loc: seed.inventory.get(loc, 0) for loc, _ in shop.catalogue.locations
        }


def test_variants_by_sku_finds_exactly_that_sku() -> None:
    shop = Shop()
    sku, variant_gid, _ = shop.new_variant()
    found = shop.run(lambda c: c.variants_by_sku(sku))
    assert [v.id for v in found] == [variant_gid]
    assert shop.run(lambda c: c.variants_by_sku("NO-SUCH-SKU")) == []


def test_order_create_then_lookup_by_source_identifier() -> None:
    shop = Shop()
    sku, variant_gid, item_id = shop.new_variant()
    before = dict(shop.emulator.data.levels)

    async def call(client: ShopifyClient) -> Any:
        created = await client.order_create(
            order_input(variant_gid), inventory_behaviour="DECREMENT_OBEYING_POLICY"
        )
        other = await client.order_create(order_input(variant_gid, "MK-2002-A"))
        found = await client.order_by_source_identifier("MK-1001-A")
        missing = await client.order_by_source_identifier("MK-9999-A")
        return created, other, found, missing

    created, other, found, missing = shop.run(call)
    assert missing is None
    assert found == created != other
    assert created.source_identifier == "MK-1001-A"
    assert created.source_name == "mirakl"
    assert created.tags == ("mirakl", "mirakl:debenhams")
    assert created.financial_status == "PAID"
    assert created.lines[0].sku == sku and created.lines[0].quantity == 2
    assert created.lines[0].unit_price == Decimal("49.99")
    assert created.total_price == Decimal("104.93")  # 2 x 49.99 + 4.95, VAT included
    # DECREMENT_OBEYING_POLICY claimed two units; the default BYPASS claimed none
    claimed = sum(
        before[(item_id, loc)] - shop.emulator.data.levels[(item_id, loc)]
        for loc, _ in shop.catalogue.locations
    )
    assert claimed == 2


def test_user_errors_are_surfaced_with_field_and_code() -> None:
    shop = Shop()
    with pytest.raises(ShopifyUserError) as caught:
        shop.run(lambda c: c.order_create(order_input("gid://shopify/ProductVariant/1")))
    assert caught.value.user_errors[0].field == ("order", "lineItems", "0", "variantId")
    assert caught.value.user_errors[0].code == "INVALID"
    assert shop.emulator.data.orders == {}


def test_fulfil_with_tracking_and_read_it_back() -> None:
    shop = Shop()
    _, variant_gid, _ = shop.new_variant()

    async def call(client: ShopifyClient) -> Any:
        order = await client.order_create(order_input(variant_gid))
        [fo] = await client.fulfillment_orders(order.id)
        await client.fulfillment_create(
            {fo.id: []},
            tracking_company="Royal Mail",
            tracking_number="RM123456785GB",
            tracking_url="https://www.royalmail.com/track-your-item#/tracking-results/RM123456785GB",
        )
        return await client.fulfillments(order.id), await client.order(order.id), fo

    fulfillments, order, fo = shop.run(call)
    assert fo.lines[0].remaining_quantity == 2
    [fulfillment] = fulfillments
    assert fulfillment.tracking[0].company == "Royal Mail"
    assert fulfillment.tracking[0].number == "RM123456785GB"
    assert fulfillment.lines[0].quantity == 2
    assert order.fulfillment_status == "FULFILLED"


def test_refund_create_is_idempotent_and_read_back() -> None:
    shop = Shop()
    _, variant_gid, _ = shop.new_variant()

    async def call(client: ShopifyClient) -> Any:
        order = await client.order_create(order_input(variant_gid))
        lines = [{"lineItemId": order.lines[0].id, "quantity": 1, "restockType": "CANCEL"}]
        money = [{"orderId": order.id, "amount": "49.99", "gateway": "manual", "kind": "REFUND"}]
        first = await client.refund_create(
            order.id, lines, idempotency_key="hub-refund-1", transactions=money
        )
        again = await client.refund_create(
            order.id, lines, idempotency_key="hub-refund-1", transactions=money
        )
        return first, again, await client.refunds(order.id), await client.order(order.id)

    first, again, refunds, order = shop.run(call)
    assert first == again
    assert refunds == [first]
    assert first.total == Decimal("49.99")
    assert first.lines[0].restock_type == "CANCEL"
    assert order.financial_status == "PARTIALLY_REFUNDED"
    assert order.lines[0].current_quantity == 1


def test_a_small_bucket_makes_the_client_wait_and_retry_after_throttled() -> None:
    shop = Shop(bucket_size=60.0, restore_rate=10.0)

    async def call(client: ShopifyClient) -> Any:
        first = [v async for v in client.variants("", page_size=10)]
        # Another worker spends the shared bucket behind this client's back.
        async with shop.client() as other:
            [v async for v in other.variants("", page_size=8)]
        throttled_before = shop.emulator.throttled_count
        second = [v async for v in client.variants("", page_size=10)]
        return first, second, throttled_before

    first, second, throttled_before = shop.run(call)
    assert first == second and len(first) > 10
    # the client paced itself by the bucket it saw, and recovered from THROTTLED answers
    assert shop.time.sleeps
    assert shop.emulator.throttled_count > throttled_before


def test_throttled_until_the_retries_run_out_raises_rate_limited() -> None:
    shop = Shop(bucket_size=60.0, restore_rate=10.0, frozen_shop=True)

    async def call(client: ShopifyClient) -> Any:
        return [v async for v in client.variants("", page_size=15)]

    with pytest.raises(RateLimitedError) as caught:
        shop.run(call, max_throttle_retries=2)
    # (47 requested - 13 left) / 10 per second
    assert caught.value.retry_after == pytest.approx(3.4)
    assert shop.emulator.throttled_count == 3


def test_a_wrong_token_is_refused_with_401() -> None:
    shop = Shop()
    with pytest.raises(AuthenticationError) as caught:
        shop.run(lambda c: c.shop_info(), token="wrong")
    assert caught.value.status == 401
    assert "Invalid API key or access token" in str(caught.value)


def test_invalid_documents_are_answered_with_graphql_errors() -> None:
    shop = Shop()
    answer = shop.emulator.run("query { shop { name nope } }", {})
    assert answer["errors"] and "nope" in answer["errors"][0]["message"]
    assert "data" not in answer


def test_webhooks_are_signed_and_carry_shopifys_headers() -> None:
    shop = Shop()
    sku, variant_gid, _ = shop.new_variant()

    async def call(client: ShopifyClient) -> Any:
        for topic in (
            "ORDERS_CREATE",
            "FULFILLMENTS_CREATE",
            "REFUNDS_CREATE",
            "INVENTORY_LEVELS_UPDATE",
            "PRODUCTS_UPDATE",
        ):
            await client.webhook_subscription_create(topic, "https://hub.example/webhooks")
        order = await client.order_create(order_input(variant_gid))
        return order, await client.webhook_subscriptions()

    order, subscriptions = shop.run(call)
    assert len(subscriptions) == 5
    shop.emulator.fulfil_order(order.id, "DPD UK", "15501234567890")
    shop.emulator.refund_order(order.id, {sku: 1}, restock_type="RETURN")
    shop.emulator.set_available(sku, 70002, 9)
    asyncio.run(shop.emulator.drain_webhooks())

    topics = [m.topic for m in shop.delivered]
    for topic in (
        "orders/create",
        "fulfillments/create",
        "refunds/create",
        "inventory_levels/update",
        "products/update",
    ):
        assert topic in topics
    for message in shop.delivered:
        assert message.url == "https://hub.example/webhooks"
        delivery = parse_webhook(message.body, message.headers, SECRET)
        assert delivery.shop_domain == "fjellrev.myshopify.com"
        assert delivery.api_version == "2026-10"
        assert delivery.event_id and delivery.triggered_at
        assert not verify_webhook(message.body, message.headers["X-Shopify-Hmac-Sha256"], "bad")
    created = next(m for m in shop.delivered if m.topic == "orders/create").payload()
    assert created["source_identifier"] == "MK-1001-A"
    assert created["line_items"][0]["sku"] == sku
    fulfilled = next(m for m in shop.delivered if m.topic == "fulfillments/create").payload()
    assert (fulfilled["tracking_company"], fulfilled["tracking_number"]) == (
        "DPD UK",
        "15501234567890",
    )
    level = [m.payload() for m in shop.delivered if m.topic == "inventory_levels/update"][-1]
    assert (level["location_id"], level["available"]) == (70002, 9)
    tampered = shop.delivered[0]
    with pytest.raises(WebhookSignatureError):
        parse_webhook(tampered.body.replace(b"MK-1001-A", b"MK-6666-A"), tampered.headers, SECRET)


def test_cancel_order_through_the_api_restocks_and_reports() -> None:
    shop = Shop()
    _, variant_gid, item_id = shop.new_variant()
    before = sum(q for (item, _), q in shop.emulator.data.levels.items() if item == item_id)

    async def call(client: ShopifyClient) -> Any:
        order = await client.order_create(
            order_input(variant_gid), inventory_behaviour="DECREMENT_IGNORING_POLICY"
        )
        job = await client.order_cancel(order.id, reason="INVENTORY", restock=True)
        with pytest.raises(ShopifyUserError):
            await client.order_cancel(order.id)
        return job, await client.order(order.id)

    job, order = shop.run(call)
    assert job and job.startswith("gid://shopify/Job/")
    assert order.cancelled_at is not None and order.cancel_reason == "INVENTORY"
    after = sum(q for (item, _), q in shop.emulator.data.levels.items() if item == item_id)
    assert after == before


def test_webhook_payload_bodies_are_json_as_sent() -> None:
    shop = Shop()
    shop.emulator.subscribe("INVENTORY_LEVELS_UPDATE", "https://hub.example/hook")
    sku, _, item_id = shop.new_variant()
    shop.emulator.set_available(sku, 70001, 4)
    message = shop.emulator.webhooks_sent[-1]
    assert json.loads(message.body)["inventory_item_id"] == item_id


def test_stock_read_by_variant_id_matches_the_read_by_sku_for_about_half_the_cost() -> None:
    from mirakl_sync.adapters.shopify.mapping import ShopOrderOptions
    from mirakl_sync.adapters.shopify.shop import ShopifyShop

    shop = Shop()
    sku, variant_gid, _ = shop.new_variant()
    other_sku, other_gid, _ = shop.new_variant(in_stock=False)
    expected = next(
        sum(seed.inventory.values()) for _, seed in shop.catalogue.variants() if seed.sku == sku
    )
    options = ShopOrderOptions(source_name="mirakl-sync", marketplace_name="Debenhams")

    async def reads(client: ShopifyClient) -> list[Any]:
        orders_shop = ShopifyShop(client, options=options)
        return [
            await orders_shop.read_stock(sku),
            await orders_shop.read_stock(sku, variant_id=variant_gid),
            # A stale binding (the id now carries another SKU, or is gone): read by SKU.
            await orders_shop.read_stock(sku, variant_id=other_gid),
            await orders_shop.read_stock(sku, variant_id="gid://shopify/ProductVariant/1"),
        ]

    by_sku, by_id, stale, gone = shop.run(reads)
    assert other_sku != sku
    assert by_sku.available == by_id.available == stale.available == gone.available == expected
    points = shop.emulator.points_by_operation
    requests = shop.emulator.requests_by_operation
    assert requests["VariantStockById"] == 3 and requests["VariantStockPage"] == 3
    # Charged (actual) points: a read by id against a search by SKU, which also pays
    # for the page of two variants it asks for.
    assert points["VariantStockById"] <= points["VariantStockPage"] * 0.6


def test_a_background_client_waits_for_the_reserve_an_urgent_one_does_not() -> None:
    from mirakl_sync.adapters.shopify.cost import BACKGROUND_RESERVE, ShopifyPacing

    shop = Shop(products=12, restore_rate=10.0, bucket_size=1000.0)
    pacing = ShopifyPacing()

    async def scenario() -> tuple[float, float, float]:
        async with (
            shop.client(pacing=pacing) as urgent,
            shop.client(pacing=pacing, background=True) as background,
        ):
            # Urgent work spends the bucket below the quarter kept for it (as Shopify
            # reports it: a read is refunded what it did not use).
            await urgent.shop_info()
            while (pacing.bucket.available(shop.time()) or 0) > 1000 * BACKGROUND_RESERVE:
                [v async for v in urgent.variant_stock(page_size=7, levels=5)]
                await urgent.shop_info()
            slept = sum(shop.time.sleeps)
            throttled = shop.emulator.throttled_count
            await urgent.shop_info()  # urgent: goes at once
            urgent_slept = sum(shop.time.sleeps) - slept
            await background.shop_info()  # background: waits for the reserve to refill
            background_slept = sum(shop.time.sleeps) - slept - urgent_slept
            left = pacing.bucket.available(shop.time()) or 0.0
            # Neither was refused: each waited (or not) before sending, not after.
            assert shop.emulator.throttled_count == throttled
        return urgent_slept, background_slept, left

    urgent_slept, background_slept, left = asyncio.run(scenario())
    assert urgent_slept == 0
    assert background_slept > 0
    # It went only once the bucket held the reserve again (minus its own small cost).
    assert left >= 1000 * BACKGROUND_RESERVE - 20
