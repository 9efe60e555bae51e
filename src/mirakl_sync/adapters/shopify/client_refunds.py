"""The refund operations of ``ShopifyClient``: an order's refunds and ``refundCreate``
with its ``@idempotent`` key.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from mirakl_sync.adapters.shopify.client_graphql import ShopifyGraphQL, _payload
from mirakl_sync.adapters.shopify.errors import SYSTEM
from mirakl_sync.adapters.shopify.models import Refund, RefundLineItemInput, RefundTransactionInput
from mirakl_sync.errors import NotFoundError


class RefundOperations(ShopifyGraphQL):
    """The client's refund reads and ``refundCreate``."""

    async def refunds(self, order_id: str) -> list[Refund]:
        data = await self.run("OrderRefunds", {"id": order_id})
        if data.get("order") is None:
            raise NotFoundError(f"no order {order_id}", system=SYSTEM)
        return [Refund.from_node(node) for node in data["order"]["refunds"]]

    async def refund_create(
        self,
        order_id: str,
        lines: Sequence[RefundLineItemInput],
        *,
        idempotency_key: str | None = None,
        note: str | None = None,
        notify: bool = False,
        full_shipping_refund: bool = False,
        transactions: Sequence[RefundTransactionInput] = (),
    ) -> Refund:
        """``refundCreate`` with an ``@idempotent`` key (required since 2026-04).

        Pass a key derived from the hub's own refund id so a retried call is answered
        with the original refund instead of refunding twice.
        """
        refund_input: dict[str, Any] = {
            "orderId": order_id,
            "refundLineItems": list(lines),
            "notify": notify,
        }
        if note is not None:
            refund_input["note"] = note
        if full_shipping_refund:
            refund_input["shipping"] = {"fullRefund": True}
        if transactions:
            refund_input["transactions"] = list(transactions)
        data = await self.run(
            "RefundCreate",
            {"input": refund_input, "idempotencyKey": idempotency_key or str(uuid.uuid4())},
        )
        payload = _payload(data, "refundCreate")
        return Refund.from_node(payload["refund"])
