"""Webhooks the emulated shop sends: REST-style JSON bodies, signed like Shopify's.

Headers (Shopify's): ``X-Shopify-Topic``, ``X-Shopify-Hmac-Sha256`` (base64 HMAC-SHA256 of
the body with the app secret), ``X-Shopify-Shop-Domain``, ``X-Shopify-API-Version``,
``X-Shopify-Webhook-Id`` (per delivery), ``X-Shopify-Event-Id`` (per event) and
``X-Shopify-Triggered-At``.

Payload fields used (a subset of the documented REST resources, nothing invented):

* ``orders/create``, ``orders/updated``, ``orders/paid``, ``orders/cancelled`` (Order):
  ``id, admin_graphql_api_id, name, order_number, email, created_at, updated_at,
  cancelled_at, cancel_reason, currency, financial_status, fulfillment_status,
  source_name, source_identifier, tags`` (comma-separated), ``total_price,
  subtotal_price, total_tax, line_items[id, admin_graphql_api_id, variant_id, product_id,
  sku, title, quantity, current_quantity, price, fulfillable_quantity]``.
* ``fulfillments/create`` (Fulfillment): ``id, admin_graphql_api_id, order_id, name,
  status, created_at, updated_at, location_id, tracking_company, tracking_number,
  tracking_numbers, tracking_url, tracking_urls, line_items[id, variant_id, sku,
  quantity]``.
* ``refunds/create`` (Refund): ``id, admin_graphql_api_id, order_id, created_at, note,
  refund_line_items[id, line_item_id, quantity, restock_type, location_id, subtotal,
  line_item{id, sku, variant_id}], transactions[amount, kind, gateway]``.
* ``inventory_levels/update`` (InventoryLevel): ``inventory_item_id, location_id,
  available, updated_at, admin_graphql_api_id``.
* ``products/update`` (Product): ``id, admin_graphql_api_id, title, handle,
  product_type, vendor, status, tags, updated_at, variants[id, sku, barcode, price,
  inventory_item_id, inventory_quantity]``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

from mirakl_sync.adapters.shopify.webhooks import sign_webhook
from mirakl_sync.sandbox.shopify.state import (
    FulfillmentRec,
    OrderRec,
    ProductRec,
    RefundRec,
    ShopData,
)

#: GraphQL topic enum -> the topic string in X-Shopify-Topic.
TOPICS: dict[str, str] = {
    "ORDERS_CREATE": "orders/create",
    "ORDERS_UPDATED": "orders/updated",
    "ORDERS_PAID": "orders/paid",
    "ORDERS_CANCELLED": "orders/cancelled",
    "FULFILLMENTS_CREATE": "fulfillments/create",
    "REFUNDS_CREATE": "refunds/create",
    "INVENTORY_LEVELS_UPDATE": "inventory_levels/update",
    "PRODUCTS_UPDATE": "products/update",
}


@dataclass(frozen=True)
class WebhookMessage:
    """One signed POST the shop sends to a subscription's address."""

    url: str
    topic: str
    headers: dict[str, str]
    body: bytes

    def payload(self) -> Any:
        return json.loads(self.body)


WebhookSender = Callable[[WebhookMessage], Coroutine[Any, Any, None]]


def httpx_webhook_sender(client: httpx.AsyncClient) -> WebhookSender:
    """A sender that POSTs each message with ``client`` (for ``mirakl-sync sandbox``)."""

    async def send(message: WebhookMessage) -> None:
        # Shopify gives up on a delivery after 5 s; failures are the receiver's problem here.
        with contextlib.suppress(httpx.HTTPError):
            await client.post(message.url, content=message.body, headers=message.headers)

    return send


def sign_message(
    *,
    url: str,
    topic: str,
    payload: dict[str, Any],
    shop: str,
    secret: str,
    api_version: str,
    webhook_id: str,
    event_id: str,
    triggered_at: str,
) -> WebhookMessage:
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": sign_webhook(body, secret),
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-API-Version": api_version,
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Event-Id": event_id,
        "X-Shopify-Triggered-At": triggered_at,
    }
    return WebhookMessage(url=url, topic=topic, headers=headers, body=body)


def _amount(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def order_payload(
    data: ShopData, order: OrderRec, fulfillment_status: str | None
) -> dict[str, Any]:
    return {
        "id": order.id,
        "admin_graphql_api_id": f"gid://shopify/Order/{order.id}",
        "name": order.name,
        "order_number": order.number,
        "email": order.email,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
        "cancelled_at": order.cancelled_at,
        "cancel_reason": order.cancel_reason.lower() if order.cancel_reason else None,
        "currency": order.currency,
        "financial_status": order.financial_status.lower(),
        "fulfillment_status": fulfillment_status,
        "source_name": order.source_name,
        "source_identifier": order.source_identifier,
        "tags": ", ".join(order.tags),
        "total_price": _amount(order.total()),
        "subtotal_price": _amount(order.subtotal()),
        "total_tax": _amount(order.tax_total()),
        "line_items": [
            {
                "id": li.id,
                "admin_graphql_api_id": f"gid://shopify/LineItem/{li.id}",
                "variant_id": li.variant_id,
                "product_id": li.product_id,
                "sku": li.sku,
                "title": li.title,
                "quantity": li.quantity,
                "current_quantity": li.quantity - li.refunded,
                "price": _amount(li.price),
                "fulfillable_quantity": max(0, li.quantity - li.refunded - li.fulfilled),
            }
            for li in order.line_items
        ],
    }


def fulfillment_payload(data: ShopData, fulfillment: FulfillmentRec) -> dict[str, Any]:
    tracking = fulfillment.tracking
    first = tracking[0] if tracking else {}
    lines = []
    for line_id, line_item_id, quantity in fulfillment.lines:
        _, line_item = data.line_items[line_item_id]
        lines.append(
            {
                "id": line_item_id,
                "fulfillment_line_item_id": line_id,
                "variant_id": line_item.variant_id,
                "sku": line_item.sku,
                "quantity": quantity,
            }
        )
    return {
        "id": fulfillment.id,
        "admin_graphql_api_id": f"gid://shopify/Fulfillment/{fulfillment.id}",
        "order_id": fulfillment.order_id,
        "name": fulfillment.name,
        "status": fulfillment.status.lower(),
        "created_at": fulfillment.created_at,
        "updated_at": fulfillment.updated_at,
        "location_id": fulfillment.location_id,
        "tracking_company": first.get("company"),
        "tracking_number": first.get("number"),
        "tracking_numbers": [t["number"] for t in tracking if t.get("number")],
        "tracking_url": first.get("url"),
        "tracking_urls": [t["url"] for t in tracking if t.get("url")],
        "line_items": lines,
    }


def refund_payload(data: ShopData, refund: RefundRec) -> dict[str, Any]:
    lines = []
    for line in refund.lines:
        _, line_item = data.line_items[line.line_item_id]
        lines.append(
            {
                "id": line.id,
                "line_item_id": line.line_item_id,
                "quantity": line.quantity,
                "restock_type": line.restock_type.lower(),
                "location_id": line.location_id,
                "subtotal": _amount(line.subtotal),
                "line_item": {
                    "id": line_item.id,
                    "sku": line_item.sku,
                    "variant_id": line_item.variant_id,
                },
            }
        )
    return {
        "id": refund.id,
        "admin_graphql_api_id": f"gid://shopify/Refund/{refund.id}",
        "order_id": refund.order_id,
        "created_at": refund.created_at,
        "note": refund.note,
        "refund_line_items": lines,
        "transactions": [
            {"amount": t["amount"], "kind": "refund", "gateway": t.get("gateway")}
            for t in refund.transactions
        ],
    }


def inventory_level_payload(
    item_id: int, location_id: int, available: int, updated_at: str
) -> dict[str, Any]:
    return {
        "inventory_item_id": item_id,
        "location_id": location_id,
        "available": available,
        "updated_at": updated_at,
        "admin_graphql_api_id": (
            f"gid://shopify/InventoryLevel/{item_id}?inventory_item_id={item_id}"
        ),
    }


def product_payload(data: ShopData, product: ProductRec) -> dict[str, Any]:
    variants = []
    for variant_id in product.variant_ids:
        variant = data.variants[variant_id]
        quantity = sum(
            q for (item, _), q in data.levels.items() if item == variant.inventory_item_id
        )
        variants.append(
            {
                "id": variant.id,
                "sku": variant.sku,
                "barcode": variant.barcode,
                "price": _amount(variant.price),
                "inventory_item_id": variant.inventory_item_id,
                "inventory_quantity": quantity,
            }
        )
    return {
        "id": product.id,
        "admin_graphql_api_id": f"gid://shopify/Product/{product.id}",
        "title": product.title,
        "handle": product.handle,
        "product_type": product.product_type,
        "vendor": product.vendor,
        "status": product.status.lower(),
        "tags": ", ".join(product.tags),
        "updated_at": product.updated_at,
        "variants": variants,
    }
