"""``ShopifyDispatchApi``: the ``ShopDispatchApi`` port over ``ShopifyClient``."""

from __future__ import annotations

from typing import Any

from mirakl_sync.adapters.shopify.client import ShopifyClient

_GID_ORDER = "gid://shopify/Order/"


def order_gid(order_id: str | int) -> str:
    text = str(order_id)
    return text if text.startswith("gid://") else f"{_GID_ORDER}{text}"


class ShopifyDispatchApi:
    def __init__(self, client: ShopifyClient) -> None:
        self._client = client

    async def order(self, order_id: str) -> dict[str, Any]:
        order = await self._client.order(order_gid(order_id))
        return {
            "id": order.id,
            "cancelled_at": order.cancelled_at,
            "fulfillment_status": order.fulfillment_status,
            "lines": [{"id": ln.id, "sku": ln.sku, "quantity": ln.quantity} for ln in order.lines],
        }

    async def fulfillments(self, order_id: str) -> list[dict[str, Any]]:
        return [
            {
                "id": f.id,
                "legacy_id": f.legacy_id,
                "tracking": [
                    {"company": t.company, "number": t.number, "url": t.url} for t in f.tracking
                ],
                "lines": [
                    {"sku": ln.sku, "quantity": ln.quantity, "line_item_id": ln.line_item_id}
                    for ln in f.lines
                ],
            }
            for f in await self._client.fulfillments(order_gid(order_id))
        ]

    async def refunds(self, order_id: str) -> list[dict[str, Any]]:
        return [
            {
                "id": r.id,
                "legacy_id": r.legacy_id,
                "lines": [
                    {
                        "line_item_id": ln.line_item_id,
                        "sku": ln.sku,
                        "quantity": ln.quantity,
                        "restock_type": ln.restock_type,
                    }
                    for ln in r.lines
                ],
            }
            for r in await self._client.refunds(order_gid(order_id))
        ]
