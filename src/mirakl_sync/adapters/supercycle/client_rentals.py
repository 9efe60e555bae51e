"""The rental (cycle) operations of ``SupercycleClient``: list, read and update rentals."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from mirakl_sync.adapters.supercycle.client_params import _field, _iso, _param
from mirakl_sync.adapters.supercycle.client_transport import MAX_PAGE_SIZE, SupercycleTransport
from mirakl_sync.adapters.supercycle.models import Rental, TimeFilter


class RentalOperations(SupercycleTransport):
    """The client's ``/rentals`` calls."""

    def iter_rentals(
        self,
        *,
        shopify_order_id: int | None = None,
        item_id: int | None = None,
        shopify_variant_id: int | None = None,
        unfulfilled: bool | None = None,
        status: str | None = None,
        created: TimeFilter | None = None,
        updated: TimeFilter | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> AsyncIterator[Rental]:
        """Every rental (cycle) matching the filters; ``updated`` drives incremental sync.

        ``status`` is a best reading: the reference mentions "status and packing filters"
        without naming the parameter.
        """
        params: dict[str, str] = {}
        _param(params, "shopifyOrderId", shopify_order_id)
        _param(params, "itemId", item_id)
        _param(params, "shopifyVariantId", shopify_variant_id)
        if unfulfilled is not None:
            params["unfulfilled"] = "true" if unfulfilled else "false"
        _param(params, "status", status)
        if created is not None:
            params.update(created.to_params("created"))
        if updated is not None:
            params.update(updated.to_params("updated"))
        return self._paginate("rentals", params, Rental, page_size)

    async def get_rental(self, rental_id: int) -> Rental:
        return self._parse(Rental, await self._request("GET", f"rentals/{rental_id}"), "rental")

    async def update_rental(
        self,
        rental_id: int,
        *,
        item_id: int | None = None,
        packing_status: str | None = None,
        fulfill_at: datetime | None = None,
        fulfilled_at: datetime | None = None,
        receive_at: datetime | None = None,
        received_at: datetime | None = None,
        minimum_rental_end: datetime | None = None,
        tags_attributes: Sequence[Mapping[str, Any]] | None = None,
    ) -> Rental:
        """``PUT /rentals/{id}``; the Shopify order is NOT changed alongside."""
        body: dict[str, Any] = {}
        _field(body, "itemId", item_id)
        _field(body, "packingStatus", packing_status)
        for key, value in (
            ("fulfillAt", fulfill_at),
            ("fulfilledAt", fulfilled_at),
            ("receiveAt", receive_at),
            ("receivedAt", received_at),
            ("minimumRentalEnd", minimum_rental_end),
        ):
            if value is not None:
                body[key] = _iso(value)
        if tags_attributes is not None:
            body["tagsAttributes"] = [dict(tag) for tag in tags_attributes]
        if not body:
            raise ValueError("update_rental needs at least one field to change")
        payload = await self._request("PUT", f"rentals/{rental_id}", json=body)
        return self._parse(Rental, payload, "rental")
