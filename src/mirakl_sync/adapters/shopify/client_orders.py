"""The order operations of ``ShopifyClient``: order look-ups (by id, query or the Mirakl
order id kept as ``sourceIdentifier``), ``orderCreate``, ``orderCancel``,
``orderUpdate`` and ``orderMarkAsPaid``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, cast

from mirakl_sync.adapters.shopify.client_graphql import (
    SKU_LOOKUP_PAGE,
    ShopifyGraphQL,
    _payload,
    search_value,
)
from mirakl_sync.adapters.shopify.errors import SYSTEM
from mirakl_sync.adapters.shopify.models import (
    InventoryBehaviour,
    Order,
    OrderCreateInput,
    OrderRef,
)
from mirakl_sync.errors import NotFoundError


class OrderOperations(ShopifyGraphQL):
    """The client's order reads and mutations."""

    async def orders(self, query: str, *, page_size: int = 5) -> AsyncIterator[Order]:
        async for node in self.paginate(
            "OrdersByQuery", {"query": query}, ("orders",), page_size=page_size
        ):
            yield Order.from_node(node)

    async def order_by_source_identifier(self, source_identifier: str) -> Order | None:
        """The order created for ``source_identifier`` (the Mirakl order id), if any."""
        query = f"source_identifier:{search_value(source_identifier)}"
        async for order in self.orders(query, page_size=5):
            # Search is fuzzy on some keys: keep only the exact match.
            if order.source_identifier == source_identifier:
                return order
        return None

    async def order_ref_by_source_identifier(self, source_identifier: str) -> OrderRef | None:
        """Lean :meth:`order_by_source_identifier`: id, name, cancelled, financial status."""
        query = f"source_identifier:{search_value(source_identifier)}"
        async for node in self.paginate(
            "OrderRefsByQuery", {"query": query}, ("orders",), page_size=SKU_LOOKUP_PAGE
        ):
            ref = OrderRef.from_node(node)
            if ref.source_identifier == source_identifier:
                return ref
        return None

    async def order_ref(self, order_id: str) -> OrderRef:
        data = await self.run("OrderRef", {"id": order_id})
        if data.get("order") is None:
            raise NotFoundError(f"no order {order_id}", system=SYSTEM)
        return OrderRef.from_node(data["order"])

    async def order_create_ref(
        self,
        order: OrderCreateInput,
        *,
        inventory_behaviour: InventoryBehaviour = "BYPASS",
    ) -> OrderRef:
        """:meth:`order_create` answering only the lean reference (about a tenth of the cost)."""
        data = await self.run(
            "OrderCreateRef",
            {
                "order": dict(order),
                "options": {
                    "inventoryBehaviour": inventory_behaviour,
                    "sendReceipt": False,
                    "sendFulfillmentReceipt": False,
                },
            },
        )
        return OrderRef.from_node(_payload(data, "orderCreate")["order"])

    async def order(self, order_id: str) -> Order:
        data = await self.run("Order", {"id": order_id})
        if data.get("order") is None:
            raise NotFoundError(f"no order {order_id}", system=SYSTEM)
        return Order.from_node(data["order"])

    async def order_create(
        self,
        order: OrderCreateInput,
        *,
        inventory_behaviour: InventoryBehaviour = "BYPASS",
        send_receipt: bool = False,
        send_fulfillment_receipt: bool = False,
    ) -> Order:
        """``orderCreate``. Not retried after a timeout: look the order up first."""
        data = await self.run(
            "OrderCreate",
            {
                "order": dict(order),
                "options": {
                    "inventoryBehaviour": inventory_behaviour,
                    "sendReceipt": send_receipt,
                    "sendFulfillmentReceipt": send_fulfillment_receipt,
                },
            },
        )
        payload = _payload(data, "orderCreate")
        return Order.from_node(payload["order"])

    async def order_cancel(
        self,
        order_id: str,
        *,
        reason: str = "OTHER",
        restock: bool = True,
        refund: bool | None = None,
        notify_customer: bool = False,
        staff_note: str | None = None,
    ) -> str | None:
        """``orderCancel``: Shopify cancels in a job; returns the job id."""
        data = await self.run(
            "OrderCancel",
            {
                "orderId": order_id,
                "reason": reason,
                "restock": restock,
                "refund": refund,
                "notifyCustomer": notify_customer,
                "staffNote": staff_note,
            },
        )
        payload = _payload(data, "orderCancel", errors_key="orderCancelUserErrors")
        job = payload.get("job") or {}
        return cast("str | None", job.get("id"))

    async def order_update(
        self,
        order_id: str,
        *,
        tags: list[str] | None = None,
        note: str | None = None,
        custom_attributes: list[dict[str, str]] | None = None,
    ) -> None:
        """``orderUpdate`` of the given fields only (``tags`` replaces all tags)."""
        update: dict[str, Any] = {"id": order_id}
        if tags is not None:
            update["tags"] = tags
        if note is not None:
            update["note"] = note
        if custom_attributes is not None:
            update["customAttributes"] = custom_attributes
        data = await self.run("OrderUpdate", {"input": update})
        _payload(data, "orderUpdate")

    async def order_mark_as_paid(self, order_id: str) -> str | None:
        data = await self.run("OrderMarkAsPaid", {"input": {"id": order_id}})
        payload = _payload(data, "orderMarkAsPaid")
        return cast("str | None", (payload.get("order") or {}).get("displayFinancialStatus"))
