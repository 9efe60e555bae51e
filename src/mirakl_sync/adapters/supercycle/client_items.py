"""The item operations of ``SupercycleClient``: list, read, create and update items, and
mark an item sold on the marketplace.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from mirakl_sync.adapters.supercycle.client_params import _field, _param
from mirakl_sync.adapters.supercycle.client_transport import MAX_PAGE_SIZE, SupercycleTransport
from mirakl_sync.adapters.supercycle.errors import SYSTEM
from mirakl_sync.adapters.supercycle.models import Item, TimeFilter, Visibility
from mirakl_sync.errors import PermanentError

_UNSET: Any = object()


class ItemOperations(SupercycleTransport):
    """The client's ``/items`` calls."""

    def iter_items(
        self,
        *,
        sku: str | None = None,
        serial: str | None = None,
        query: str | None = None,
        visibility: str | None = None,
        with_active_rental: bool | None = None,
        updated: TimeFilter | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> AsyncIterator[Item]:
        """Every item matching the filters, page by page.

        ``updated`` is NOT in the published ``GET /items`` reference (only rentals and
        blocked dates document it); the emulator honours it, but against the real API
        a full scan is the safe way to catch every change. ``query`` is the documented
        text search over titles, serials and SKU; its parameter name is not shown in the
        reference, ``query`` is our reading.
        """
        params: dict[str, str] = {}
        _param(params, "sku", sku)
        _param(params, "serial", serial)
        _param(params, "query", query)
        _param(params, "visibility", visibility)
        if with_active_rental is not None:
            params["withActiveRental"] = "true" if with_active_rental else "false"
        if updated is not None:
            params.update(updated.to_params("updated"))
        return self._paginate("items", params, Item, page_size)

    async def get_item(self, item_id: int) -> Item:
        return self._parse(Item, await self._request("GET", f"items/{item_id}"), "item")

    async def create_items(
        self,
        shopify_variant_id: int,
        *,
        visibility: str = Visibility.AVAILABLE,
        quantity: int | None = None,
        serials: Sequence[str] | None = None,
        condition_id: int | None = None,
        location_shopify_id: int | None = None,
        pick_location: str | None = None,
    ) -> list[Item]:
        """``POST /items``: the variant's product must already be imported into Supercycle."""
        body: dict[str, Any] = {"shopifyVariantId": shopify_variant_id, "visibility": visibility}
        _field(body, "quantity", quantity)
        if serials is not None:
            body["serials"] = list(serials)
        _field(body, "conditionId", condition_id)
        _field(body, "locationShopifyId", location_shopify_id)
        _field(body, "pickLocation", pick_location)
        payload = await self._request("POST", "items", json=body)
        if not isinstance(payload, list):
            raise PermanentError("POST /items did not return a list of items", system=SYSTEM)
        return [self._parse(Item, row, "item") for row in payload]

    async def update_item(
        self,
        item_id: int,
        *,
        visibility: str | None = None,
        status: str | None = None,
        condition_id: int | None = _UNSET,
        serial: str | None = None,
        shopify_variant_id: int | None = None,
        location_shopify_id: int | None = None,
        pick_location: str | None = None,
    ) -> Item:
        """``PUT /items/{id}`` with only the fields given (``condition_id=None`` clears it)."""
        body: dict[str, Any] = {}
        _field(body, "visibility", visibility)
        _field(body, "status", status)
        if condition_id is not _UNSET:
            body["conditionId"] = condition_id
        _field(body, "serial", serial)
        _field(body, "shopifyVariantId", shopify_variant_id)
        _field(body, "locationShopifyId", location_shopify_id)
        _field(body, "pickLocation", pick_location)
        if not body:
            raise ValueError("update_item needs at least one field to change")
        payload = await self._request("PUT", f"items/{item_id}", json=body)
        return self._parse(Item, payload, "item")

    async def mark_item_sold(self, item_id: int) -> Item:
        """Record a marketplace sale: Supercycle never sees orders without ``_cycle``."""
        return await self.update_item(item_id, visibility=Visibility.SOLD)
