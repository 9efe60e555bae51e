"""The shipment operations of ``MiraklClient`` (multi-shipment platforms): create
shipments (ST01), list them (ST11), set their tracking (ST23) and ship them (ST24).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from mirakl_sync.adapters.mirakl.client_params import _chunks, _dump, _list
from mirakl_sync.adapters.mirakl.client_transport import MiraklTransport
from mirakl_sync.adapters.mirakl.models import (
    NewShipment,
    Shipment,
    ShipmentsCreated,
    ShipmentsUpdated,
    ShipmentTracking,
)

SHIPMENTS_PER_CALL = 1000  # ST01/ST23/ST24 maxItems


class ShipmentOperations(MiraklTransport):
    """The client's operations ST01, ST11, ST23 and ST24."""

    async def create_shipments(self, shipments: Sequence[NewShipment]) -> ShipmentsCreated:
        """ST01: create shipments, 1000 per call (chunked). Read ``shipment_errors``.

        A 404 means multi-shipment is disabled on the platform: use OR23 + OR24 instead.
        If a later chunk fails, the earlier chunks were applied: the exception is raised
        and the caller re-reads the shipments (ST11).
        """
        result = ShipmentsCreated()
        for chunk in _chunks(shipments, SHIPMENTS_PER_CALL):
            body = {"shipments": [_dump(shipment) for shipment in chunk]}
            part = await self._model(ShipmentsCreated, "ST01", "POST", "/api/shipments", json=body)
            result.shipment_success.extend(part.shipment_success)
            result.shipment_errors.extend(part.shipment_errors)
        return result

    async def list_shipments(
        self,
        *,
        order_ids: Sequence[str] | None = None,
        shipment_state_codes: Sequence[str] | None = None,
        shipment_customer_debit_state_codes: Sequence[str] | None = None,
        last_updated_from: datetime | None = None,
        last_updated_to: datetime | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[Shipment]:
        """ST11: every shipment matching the filters (seek pages)."""
        params = {
            "order_id": _list(order_ids),
            "shipment_state_code": _list(shipment_state_codes),
            "shipment_customer_debit_state_code": _list(shipment_customer_debit_state_codes),
            "last_updated_from": last_updated_from,
            "last_updated_to": last_updated_to,
        }
        async for item in self._seek(Shipment, "ST11", "/api/shipments", params, page_size):
            yield item

    async def update_shipment_tracking(
        self, tracking: Mapping[str, ShipmentTracking]
    ) -> ShipmentsUpdated:
        """ST23: set the tracking of shipments (shipment id -> tracking), 1000 per call."""
        items = [{"id": sid, "tracking": _dump(value)} for sid, value in tracking.items()]
        return await self._updated("ST23", "POST", "/api/shipments/tracking", items)

    async def ship_shipments(self, shipment_ids: Sequence[str]) -> ShipmentsUpdated:
        """ST24: mark shipments as shipped, 1000 per call."""
        items = [{"id": sid} for sid in shipment_ids]
        return await self._updated("ST24", "PUT", "/api/shipments/ship", items)

    async def _updated(
        self, operation: str, method: str, path: str, items: list[dict[str, Any]]
    ) -> ShipmentsUpdated:
        result = ShipmentsUpdated()
        for chunk in _chunks(items, SHIPMENTS_PER_CALL):
            part = await self._model(
                ShipmentsUpdated, operation, method, path, json={"shipments": chunk}
            )
            result.shipment_success.extend(part.shipment_success)
            result.shipment_errors.extend(part.shipment_errors)
        return result
