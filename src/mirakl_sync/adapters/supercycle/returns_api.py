"""``SupercycleReturnsApi``: the ``ReturnsApi`` port (and the ``CyclesApi`` of
``services.cycle_feed``) over ``SupercycleClient``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mirakl_sync.adapters.supercycle.client import SupercycleClient
from mirakl_sync.adapters.supercycle.models import ReturnOrder, TimeFilter


def _return_order(order: ReturnOrder) -> dict[str, Any]:
    return {
        "id": order.id,
        "status": order.status,
        "lines": [
            {
                "id": line.id,
                "status": line.status,
                "condition": line.condition.title if line.condition else None,
                "serial": line.item.serial if line.item else None,
                "item_status": line.item.status if line.item else None,
                "restocked_at": line.restocked_at.isoformat() if line.restocked_at else None,
            }
            for line in order.return_lines
        ],
    }


class SupercycleReturnsApi:
    def __init__(self, client: SupercycleClient) -> None:
        self._client = client

    async def return_orders(self) -> list[dict[str, Any]]:
        return [_return_order(order) async for order in self._client.iter_return_orders()]

    async def return_orders_changed_since(self, since: datetime) -> list[dict[str, Any]]:
        # The reference documents no filter on GET /return_orders, but rentals take
        # ``updated`` and carry ``returnOrderId``: receiving a return line and restocking
        # its item change the line's rental (``receivedAt``, ``restockedAt``), so the
        # return orders of the rentals updated since ``since`` are the ones that changed.
        ids: list[int] = []
        async for rental in self._client.iter_rentals(updated=TimeFilter(gte=since)):
            if rental.return_order_id is not None and rental.return_order_id not in ids:
                ids.append(rental.return_order_id)
        return [_return_order(await self._client.get_return_order(i)) for i in ids]

    async def fulfilled_cycles(self, since: datetime) -> list[dict[str, Any]]:
        # Not filtered by status: a fulfilled cycle moves on to unreceived / received
        # when it is returned, and ``fulfilledAt`` stays set.
        out = []
        async for rental in self._client.iter_rentals(updated=TimeFilter(gte=since)):
            if rental.fulfilled_at is None or rental.status == "cancelled":
                continue
            item = rental.item
            if item is None and rental.item_id is not None:
                item = await self._client.get_item(rental.item_id)
            out.append(
                {
                    "id": rental.id,
                    "shopify_order_id": rental.shopify_order_id,
                    "serial": item.serial if item else None,
                    "fulfilled_at": rental.fulfilled_at.isoformat(),
                }
            )
        return out
