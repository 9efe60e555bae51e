"""The hub subscribes to the Shopify webhooks its flows use, once, against the emulator."""

from __future__ import annotations

import asyncio

import httpx

from mirakl_sync.adapters.shopify.client import ShopifyClient
from mirakl_sync.adapters.shopify.webhook_subscriptions import ShopifyWebhookSubscriptions
from mirakl_sync.sandbox.seed import build_catalogue
from mirakl_sync.sandbox.shopify import ShopifyEmulator
from mirakl_sync.services.webhook_subscriptions import TOPICS, ensure_subscriptions


def test_subscriptions_are_created_once_and_point_at_the_hub() -> None:
    emulator = ShopifyEmulator()
    emulator.load_catalogue(build_catalogue(products=5))

    async def scenario() -> tuple[list[str], list[str], set[tuple[str, str]]]:
        client = ShopifyClient(
            "http://shop/admin/api/2026-10/graphql.json",
            emulator.access_token,
            transport=httpx.ASGITransport(app=emulator.asgi_app()),
        )
        async with client:
            port = ShopifyWebhookSubscriptions(client)
            first = await ensure_subscriptions(port, "https://hub.example.com/")
            second = await ensure_subscriptions(port, "https://hub.example.com")
            return first, second, await port.subscribed()

    first, second, subscribed = asyncio.run(scenario())
    assert first == list(TOPICS)
    assert second == []
    assert subscribed == {(t, "https://hub.example.com/webhooks/shopify") for t in TOPICS}
