"""The Shopify emulator: one in-memory shop that answers the real Admin GraphQL API.

Every document is validated and executed by graphql-core against the vendored 2026-10
schema, with resolvers over in-memory state (products, variants, inventory per location,
orders, fulfillment orders, fulfillments, refunds, webhook subscriptions). It charges the
calculated query cost from a leaky bucket, answers THROTTLED like Shopify, checks the
access token, and sends HMAC-signed webhooks through an injectable sender. Tests reach it
with ``httpx.ASGITransport(app=emulator.asgi_app())``; ``mirakl-sync sandbox`` serves it.
"""

from __future__ import annotations

from mirakl_sync.sandbox.shopify.app import ShopifyEmulator
from mirakl_sync.sandbox.shopify.webhooks import WebhookMessage, httpx_webhook_sender

__all__ = ["ShopifyEmulator", "WebhookMessage", "httpx_webhook_sender"]
