"""``ShopifyDispatchApi``: the ``ShopDispatchApi`` port over ``ShopifyClient``."""

from __future__ import annotations

from typing import Any

from mirakl_sync.adapters.shopify.client import ShopifyClient
from mirakl_sync.adapters.shopify.models import ChangedOrder, Fulfillment, Refund

_GID_ORDER = "gid://shopify/Order/"


def order_gid(order_id: str | int) -> str:
    text = str(order_id)
    return text if text.startswith("gid://") else f"{_GID_ORDER}{text}"


def _fulfillment(f: Fulfillment) -> dict[str, Any]:
    return {
        "id": f.id,
        "legacy_id": f.legacy_id,
        "tracking": [{"company": t.company, "number": t.number, "url": t.url} for t in f.tracking],
        "lines": [
            {"sku": ln.sku, "quantity": ln.quantity, "line_item_id": ln.line_item_id}
            for ln in f.lines
        ],
    }


def _refund(r: Refund) -> dict[str, Any]:
    return {
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
        return [_fulfillment(f) for f in await self._client.fulfillments(order_gid(order_id))]

    async def refunds(self, order_id: str) -> list[dict[str, Any]]:
        return [_refund(r) for r in await self._client.refunds(order_gid(order_id))]

    async def changed_orders(
        self, since: str, *, after: str | None, page_size: int
    ) -> dict[str, Any]:
        """One page of the shop's orders updated at or after ``since``, oldest change first
        (``OrdersChangedSince``), each with its fulfilments and refunds.

        Shopify's search wants a time quoted: ``updated_at:>='2026-10-01T00:00:00Z'``. An
        order whose lists the page may have cut is read again with the per-order queries.
        """
        data = await self._client.run(
            "OrdersChangedSince",
            {"query": f"updated_at:>='{since}'", "first": page_size, "after": after},
        )
        connection = data["orders"]
        orders = []
        for node in connection["nodes"]:
            order = ChangedOrder.from_node(node)
            if order.complete:
                fulfillments = [_fulfillment(f) for f in order.fulfillments]
                refunds = [_refund(r) for r in order.refunds]
            else:
                fulfillments = await self.fulfillments(order.id)
                refunds = await self.refunds(order.id)
            orders.append(
                {
                    "id": order.id,
                    "legacy_id": order.legacy_id,
                    "updated_at": order.updated_at,
                    "source_name": order.source_name,
                    "source_identifier": order.source_identifier,
                    "cancelled_at": order.cancelled_at,
                    "fulfillments": fulfillments,
                    "refunds": refunds,
                }
            )
        page = connection["pageInfo"]
        return {
            "orders": orders,
            "has_next_page": bool(page["hasNextPage"]),
            "end_cursor": page.get("endCursor"),
        }
