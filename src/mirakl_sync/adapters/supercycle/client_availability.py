"""The availability operations of ``SupercycleClient``: a variant's availability timeline
and the blocked date ranges of items, variants and products.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import date
from typing import Any

from mirakl_sync.adapters.supercycle.client_params import _field, _param
from mirakl_sync.adapters.supercycle.client_transport import MAX_PAGE_SIZE, SupercycleTransport
from mirakl_sync.adapters.supercycle.models import AvailabilityTimeline, BlockedDate, TimeFilter


class AvailabilityOperations(SupercycleTransport):
    """The client's ``/availability_timelines`` and ``/blocked_dates`` calls."""

    async def get_availability_timeline(
        self,
        variant_shopify_id: int,
        *,
        location_id: int | None = None,
        delivery_method_type: str | None = None,
    ) -> AvailabilityTimeline:
        """Per-day available counts of a variant (10 calls/min: use sparingly)."""
        params: dict[str, str] = {"variant_shopify_id": str(variant_shopify_id)}
        _param(params, "location_id", location_id)
        _param(params, "delivery_method_type", delivery_method_type)
        payload = await self._request("GET", "availability_timelines", params=params)
        return self._parse(AvailabilityTimeline, payload, "availability timeline")

    def iter_blocked_dates(
        self,
        *,
        resource_types: Sequence[str] | None = None,
        item_id: int | None = None,
        shopify_variant_id: int | None = None,
        shopify_product_id: int | None = None,
        active_from: date | None = None,
        active_to: date | None = None,
        updated: TimeFilter | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> AsyncIterator[BlockedDate]:
        """Blocked date ranges; ``active_from=today, active_to=today`` gives today's blocks."""
        params: dict[str, str] = {}
        if resource_types:
            params["resourceType"] = ",".join(resource_types)
        _param(params, "itemId", item_id)
        _param(params, "shopifyVariantId", shopify_variant_id)
        _param(params, "shopifyProductId", shopify_product_id)
        _param(params, "activeFrom", active_from.isoformat() if active_from else None)
        _param(params, "activeTo", active_to.isoformat() if active_to else None)
        if updated is not None:
            params.update(updated.to_params("updated"))
        return self._paginate("blocked_dates", params, BlockedDate, page_size)

    async def get_blocked_date(self, blocked_date_id: int) -> BlockedDate:
        payload = await self._request("GET", f"blocked_dates/{blocked_date_id}")
        return self._parse(BlockedDate, payload, "blocked date")

    async def create_blocked_date(
        self,
        resource_type: str,
        resource_id: int,
        *,
        first: date | None = None,
        last: date | None = None,
        description: str | None = None,
    ) -> BlockedDate:
        """Block ``first``..``last`` (inclusive; None = open end) on an item/variant/product."""
        body: dict[str, Any] = {
            "resourceType": resource_type,
            "resourceId": resource_id,
            "from": first.isoformat() if first else None,
            "to": last.isoformat() if last else None,
        }
        _field(body, "description", description)
        payload = await self._request("POST", "blocked_dates", json=body)
        return self._parse(BlockedDate, payload, "blocked date")
