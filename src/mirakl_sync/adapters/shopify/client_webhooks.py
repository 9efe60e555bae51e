"""The webhook subscription operations of ``ShopifyClient``: list the shop's
subscriptions and create one.
"""

from __future__ import annotations

from mirakl_sync.adapters.shopify.client_graphql import ShopifyGraphQL, _payload
from mirakl_sync.adapters.shopify.models import WebhookSubscription


class WebhookOperations(ShopifyGraphQL):
    """The client's webhook subscription reads and ``webhookSubscriptionCreate``."""

    async def webhook_subscriptions(self) -> list[WebhookSubscription]:
        return [
            WebhookSubscription.from_node(node)
            async for node in self.paginate(
                "WebhookSubscriptions", {}, ("webhookSubscriptions",), page_size=100
            )
        ]

    async def webhook_subscription_create(self, topic: str, uri: str) -> WebhookSubscription:
        """Subscribe ``uri`` to ``topic`` (the enum, e.g. ``ORDERS_CREATE``)."""
        data = await self.run(
            "WebhookSubscriptionCreate",
            {"topic": topic, "webhookSubscription": {"uri": uri, "format": "JSON"}},
        )
        payload = _payload(data, "webhookSubscriptionCreate")
        return WebhookSubscription.from_node(payload["webhookSubscription"])
