"""The return order operations of ``SupercycleClient``: list, read, create and update
return orders.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from mirakl_sync.adapters.supercycle.client_params import _field
from mirakl_sync.adapters.supercycle.client_transport import MAX_PAGE_SIZE, SupercycleTransport
from mirakl_sync.adapters.supercycle.models import (
    CreatedReturnOrders,
    ReturnLineUpdate,
    ReturnOrder,
    ReturnRequestLine,
)


class ReturnOrderOperations(SupercycleTransport):
    """The client's ``/return_orders`` calls."""

    def iter_return_orders(self, *, page_size: int = MAX_PAGE_SIZE) -> AsyncIterator[ReturnOrder]:
        """Every return order (the reference documents no filter besides paging)."""
        return self._paginate("return_orders", {}, ReturnOrder, page_size)

    async def get_return_order(self, return_order_id: int) -> ReturnOrder:
        payload = await self._request("GET", f"return_orders/{return_order_id}")
        return self._parse(ReturnOrder, payload, "return order")

    async def create_return_order(
        self,
        lines: Sequence[ReturnRequestLine] = (),
        *,
        serials: Sequence[str] | None = None,
        return_method: Mapping[str, Any] | None = None,
    ) -> CreatedReturnOrders:
        """``POST /return_orders`` by rental ids (``lines``) or item ``serials``.

        Supercycle may create some orders and refuse some lines in the same answer: read
        both ``return_orders`` and ``errors`` of the result.
        """
        body: dict[str, Any] = {
            "data": [line.model_dump(by_alias=True, exclude_none=True) for line in lines]
        }
        if serials is not None:
            body["serials"] = list(serials)
        if return_method is not None:
            body["returnMethodAttributes"] = dict(return_method)
        payload = await self._request("POST", "return_orders", json=body)
        return self._parse(CreatedReturnOrders, payload, "created return orders")

    async def update_return_order(
        self,
        return_order_id: int,
        *,
        status: str | None = None,
        lines: Sequence[ReturnLineUpdate] = (),
    ) -> ReturnOrder:
        """``PUT /return_orders/{id}``: the order's status and/or its lines' statuses.

        The published example names the lines ``return_lines`` (snake case, unlike the
        rest of the API); we send it as published.
        """
        body: dict[str, Any] = {}
        _field(body, "status", status)
        if lines:
            body["return_lines"] = [
                line.model_dump(by_alias=True, exclude_none=True) for line in lines
            ]
        if not body:
            raise ValueError("update_return_order needs a status or lines")
        payload = await self._request("PUT", f"return_orders/{return_order_id}", json=body)
        return self._parse(ReturnOrder, payload, "return order")
