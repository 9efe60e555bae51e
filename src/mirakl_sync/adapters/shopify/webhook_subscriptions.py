"""The ``WebhookSubscriptions`` port over the Shopify client."""

from __future__ import annotations

from mirakl_sync.adapters.shopify.client import ShopifyClient


class ShopifyWebhookSubscriptions:
    def __init__(self, client: ShopifyClient) -> None:
        self._client = client

    async def subscribed(self) -> set[tuple[str, str]]:
        return {(s.topic, s.uri) for s in await self._client.webhook_subscriptions()}

    async def subscribe(self, topic: str, uri: str) -> None:
        await self._client.webhook_subscription_create(topic, uri)
