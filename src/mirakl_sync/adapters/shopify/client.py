"""``ShopifyClient``: the hub's Admin GraphQL client (httpx, injectable transport).

    async with ShopifyClient(settings.graphql_url, token) as shopify:
        shop = await shopify.shop_info()
        async for variant in shopify.variant_stock():
            ...

The class is assembled here from parts, one module per concept:

- ``client_graphql.py``: the transport every call goes through (cost pacing, retries,
  error translation);
- ``client_inventory.py``: the shop, its locations, variants and their stock;
- ``client_orders.py``: order look-ups and mutations;
- ``client_fulfilment.py``: fulfillment orders and fulfillments;
- ``client_refunds.py``: refunds;
- ``client_webhooks.py``: webhook subscriptions.
"""

from __future__ import annotations

from typing import Any

from mirakl_sync.adapters.shopify.client_fulfilment import FulfilmentOperations
from mirakl_sync.adapters.shopify.client_graphql import search_value
from mirakl_sync.adapters.shopify.client_inventory import InventoryOperations
from mirakl_sync.adapters.shopify.client_orders import OrderOperations
from mirakl_sync.adapters.shopify.client_refunds import RefundOperations
from mirakl_sync.adapters.shopify.client_webhooks import WebhookOperations
from mirakl_sync.config import ShopifySettings

__all__ = ["ShopifyClient", "search_value"]


class ShopifyClient(
    InventoryOperations,
    OrderOperations,
    FulfilmentOperations,
    RefundOperations,
    WebhookOperations,
):
    """Async client of one shop's Admin GraphQL API (see the module docstring)."""

    @classmethod
    def from_settings(cls, settings: ShopifySettings, **options: Any) -> ShopifyClient:
        """A client for the shop in ``[shopify]`` (``options`` as for the constructor)."""
        return cls(settings.graphql_url, settings.access_token.get_secret_value(), **options)
