"""``MiraklDispatchApi``: the ``MarketplaceDispatchApi`` port over ``MiraklClient``.

Plain JSON in and out (OR11 shapes), so services never see the adapter's models.
"""

from __future__ import annotations

from typing import Any

from mirakl_sync.adapters.mirakl.client import MiraklClient
from mirakl_sync.adapters.mirakl.models import (
    CancelationRequest,
    NewShipment,
    RefundRequest,
)


class MiraklDispatchApi:
    def __init__(self, client: MiraklClient, marketplace: str) -> None:
        self._client = client
        self.marketplace = marketplace

    async def aclose(self) -> None:
        await self._client.aclose()

    async def order(self, order_id: str) -> dict[str, Any] | None:
        async for order in self._client.list_orders(order_ids=[order_id], synchronous=True):
            if order.order_id == order_id:
                return order.model_dump(mode="json")
        return None

    async def carriers(self) -> dict[str, str]:
        return {c.code: c.label for c in await self._client.carriers()}

    async def reasons(self, reason_type: str) -> list[str]:
        return [
            r.code
            for r in await self._client.reasons()
            if r.type == reason_type and r.is_shop_right
        ]

    async def update_tracking(
        self,
        order_id: str,
        *,
        carrier_code: str | None,
        carrier_name: str | None,
        carrier_url: str | None,
        tracking_number: str | None,
    ) -> None:
        await self._client.update_tracking(
            order_id,
            carrier_code=carrier_code,
            carrier_name=carrier_name,
            carrier_url=carrier_url,
            tracking_number=tracking_number,
        )

    async def ship_order(self, order_id: str) -> None:
        await self._client.ship_order(order_id)

    async def create_shipments(
        self, shipments: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        result = await self._client.create_shipments(
            [NewShipment.model_validate(s) for s in shipments]
        )
        return (
            [s.model_dump(mode="json") for s in result.shipment_success],
            [e.model_dump(mode="json") for e in result.shipment_errors],
        )

    async def shipments(self, order_ids: list[str]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        # ST11 takes the order ids as a repeated parameter; keep each URL reasonable.
        for i in range(0, len(order_ids), 100):
            async for s in self._client.list_shipments(order_ids=order_ids[i : i + 100]):
                out.append(s.model_dump(mode="json"))
        return out

    async def ship_shipments(self, shipment_ids: list[str]) -> list[dict[str, Any]]:
        result = await self._client.ship_shipments(shipment_ids)
        return [e.model_dump(mode="json") for e in result.shipment_errors]

    async def refund(
        self, refunds: list[dict[str, Any]], order_tax_mode: str | None
    ) -> list[dict[str, Any]]:
        result = await self._client.refund(
            [RefundRequest.model_validate(r) for r in refunds], order_tax_mode=order_tax_mode
        )
        return [r.model_dump(mode="json") for r in result.refunds]

    async def cancel_order(self, order_id: str) -> None:
        await self._client.cancel_order(order_id)

    async def cancel_lines(
        self, cancelations: list[dict[str, Any]], order_tax_mode: str | None
    ) -> list[dict[str, Any]]:
        result = await self._client.cancel_lines(
            [CancelationRequest.model_validate(c) for c in cancelations],
            order_tax_mode=order_tax_mode,
        )
        return [c.model_dump(mode="json") for c in result.cancelations]
