"""Webhook subscriptions: make sure Shopify tells the hub about the changes it acts on.

Webhooks make the hub fast; they are never its only source (every flow also polls), so a
failed subscription is an exception for ops, not a stop.
"""

from __future__ import annotations

from mirakl_sync.services.ports import WebhookSubscriptions

#: Shopify topics (``WebhookSubscriptionTopic`` enum values) and what the hub does with them.
TOPICS: dict[str, str] = {
    "FULFILLMENTS_CREATE": "dispatch: tracking and ship notice to the marketplace",
    "REFUNDS_CREATE": "refund the marketplace order",
    "ORDERS_CANCELLED": "cancel the marketplace order",
    "INVENTORY_LEVELS_UPDATE": "stock: push the new quantity",
}

WEBHOOK_PATH = "/webhooks/shopify"


def webhook_uri(public_url: str) -> str:
    return public_url.rstrip("/") + WEBHOOK_PATH


async def ensure_subscriptions(shop: WebhookSubscriptions, public_url: str) -> list[str]:
    """Subscribe the hub to every topic it is not subscribed to yet; return those added.

    Idempotent: run at every start, it adds nothing when all are in place.
    """
    uri = webhook_uri(public_url)
    existing = await shop.subscribed()
    added: list[str] = []
    for topic in TOPICS:
        if (topic, uri) not in existing:
            await shop.subscribe(topic, uri)
            added.append(topic)
    return added
