"""The fulfilment operations of ``ShopifyClient``: an order's fulfillment orders and
fulfillments, and ``fulfillmentCreate`` with its tracking.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mirakl_sync.adapters.shopify.client_graphql import ShopifyGraphQL, _payload
from mirakl_sync.adapters.shopify.errors import SYSTEM
from mirakl_sync.adapters.shopify.models import Fulfillment, FulfillmentLineInput, FulfillmentOrder
from mirakl_sync.errors import NotFoundError


class FulfilmentOperations(ShopifyGraphQL):
    """The client's fulfilment reads and ``fulfillmentCreate``."""

    async def fulfillment_orders(self, order_id: str) -> list[FulfillmentOrder]:
        data = await self.run("OrderFulfillmentOrders", {"id": order_id})
        if data.get("order") is None:
            raise NotFoundError(f"no order {order_id}", system=SYSTEM)
        return [
            FulfillmentOrder.from_node(node) for node in data["order"]["fulfillmentOrders"]["nodes"]
        ]

    async def fulfillments(self, order_id: str) -> list[Fulfillment]:
        data = await self.run("OrderFulfillments", {"id": order_id})
        if data.get("order") is None:
            raise NotFoundError(f"no order {order_id}", system=SYSTEM)
        return [Fulfillment.from_node(node) for node in data["order"]["fulfillments"]]

    async def fulfillment_create(
        self,
        lines_by_fulfillment_order: Mapping[str, Sequence[FulfillmentLineInput]],
        *,
        tracking_company: str | None = None,
        tracking_number: str | None = None,
        tracking_url: str | None = None,
        notify_customer: bool = False,
    ) -> Fulfillment:
        """``fulfillmentCreate``; an empty line list fulfils the whole fulfillment order."""
        tracking: dict[str, str] = {}
        if tracking_company:
            tracking["company"] = tracking_company
        if tracking_number:
            tracking["number"] = tracking_number
        if tracking_url:
            tracking["url"] = tracking_url
        fulfillment: dict[str, Any] = {
            "lineItemsByFulfillmentOrder": [
                _fulfillment_order_lines(fo_id, lines)
                for fo_id, lines in lines_by_fulfillment_order.items()
            ],
            "notifyCustomer": notify_customer,
        }
        if tracking:
            fulfillment["trackingInfo"] = tracking
        data = await self.run("FulfillmentCreate", {"fulfillment": fulfillment})
        payload = _payload(data, "fulfillmentCreate")
        return Fulfillment.from_node(payload["fulfillment"])


def _fulfillment_order_lines(
    fulfillment_order_id: str, lines: Sequence[FulfillmentLineInput]
) -> dict[str, Any]:
    entry: dict[str, Any] = {"fulfillmentOrderId": fulfillment_order_id}
    if lines:
        entry["fulfillmentOrderLineItems"] = list(lines)
    return entry
