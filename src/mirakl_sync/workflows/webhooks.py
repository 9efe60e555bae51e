"""The Shopify webhook router: each topic to the flow that acts on it.

The web receiver has already checked the body's size, verified the HMAC signature and
checked the payload carries the fields its topic's handler reads
(``adapters.shopify.webhook_payloads``); this only decides who starts what. Work is
started as durable workflows (or recorded as dirty stock), never done in the request, so
Shopify's 5-second delivery timeout is never at risk.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)

DISPATCH_TOPICS = frozenset({"fulfillments/create", "refunds/create", "orders/cancelled"})
STOCK_TOPICS = frozenset({"inventory_levels/update"})


def route_shopify_webhook(topic: str, payload: dict[str, Any], headers: dict[str, str]) -> None:
    if topic in DISPATCH_TOPICS:
        from mirakl_sync.workflows.dispatch import handle_shopify_webhook

        handle_shopify_webhook(topic, payload, headers)
    elif topic in STOCK_TOPICS:
        from mirakl_sync.workflows import stock

        handler = getattr(stock, "handle_inventory_webhook", None)
        if handler is not None:
            handler(topic, payload, headers)
    else:
        logger.info("shopify webhook %s ignored: no flow acts on it", topic)
