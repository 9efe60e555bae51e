"""Ports of stock, prices and offers: the shop's and Supercycle's stock, the
marketplaces' offers and their states."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from mirakl_sync.domain.item_availability import BlockedRange
from mirakl_sync.domain.offers import (
    ExportedOffer,
    ImportErrorLine,
    ImportProgress,
    OfferRow,
    ShopVariant,
    SupercycleItem,
)


class ShopStock(Protocol):
    """Shopify, read in bulk: every variant with ``available`` per location."""

    def variants(self) -> AsyncIterator[ShopVariant]: ...


class SupercycleCatalogue(Protocol):
    """Supercycle, read in bulk: items, and the blocked dates covering a day."""

    def items(self, *, updated_since: datetime | None = None) -> AsyncIterator[SupercycleItem]:
        """Every item (or those changed since ``updated_since``)."""
        ...

    def blocked_ranges(self, day: date) -> AsyncIterator[BlockedRange]:
        """The blocked date ranges active on ``day``."""
        ...


class MarketplaceOffers(Protocol):
    """One marketplace's offer, stock and price imports and its offer export."""

    marketplace: str

    async def push_stock(self, quantities: Mapping[str, int]) -> str:
        """STO01 with one line per offer; returns the import id."""
        ...

    async def stock_import(self, import_id: str) -> ImportProgress: ...  # STO02

    async def stock_import_errors(self, import_id: str) -> list[ImportErrorLine]: ...  # STO03

    async def push_prices(self, prices: Mapping[str, Decimal]) -> str:
        """PRI01: the FULL price set of each offer given (others of those offers are deleted)."""
        ...

    async def price_import(self, import_id: str) -> ImportProgress: ...  # PRI02

    async def price_import_errors(self, import_id: str) -> list[ImportErrorLine]: ...  # PRI03

    async def push_offers(self, rows: Sequence[OfferRow], *, replace: bool = False) -> str:
        """OF01, NORMAL (REPLACE deletes every offer not in the file: only on request)."""
        ...

    async def offer_import(self, import_id: str) -> ImportProgress: ...  # OF02

    async def offer_import_errors(self, import_id: str) -> list[ImportErrorLine]: ...  # OF03

    async def start_export(self, since: datetime | None) -> str:
        """OF52 (differential when ``since`` is given); returns the tracking id."""
        ...

    async def export_urls(self, tracking_id: str) -> list[str] | None:
        """OF53: the chunk URLs once complete, None while pending."""
        ...

    async def download_export(self, url: str) -> list[ExportedOffer]: ...  # OF54


class OfferStates(Protocol):
    """What the hub decided, sent and saw per offer and marketplace (``offer_states``)."""

    def known_quantities(
        self, marketplace: str, skus: Collection[str] | None = None
    ) -> dict[str, int | None]: ...

    def record_desired_quantities(
        self, marketplace: str, changes: Mapping[str, int], now: datetime
    ) -> None: ...

    def mark_skipped(self, marketplace: str, reasons: Mapping[str, str], now: datetime) -> None: ...

    def pending_quantities(self, marketplace: str) -> dict[str, int]: ...

    def mark_stock_sent(
        self, marketplace: str, quantities: Mapping[str, int], import_id: str, now: datetime
    ) -> None: ...

    def mark_stock_errors(
        self, marketplace: str, import_id: str, errors: Mapping[str, str], now: datetime
    ) -> list[str]:
        """Mark the offers still carried by ``import_id`` as errors; return their SKUs."""
        ...

    def requeue(
        self, marketplace: str, quantities: Mapping[str, int | None], now: datetime
    ) -> None:
        """Drift: record what the marketplace shows and queue the hub's value again."""
        ...

    def record_marketplace_quantities(
        self, marketplace: str, quantities: Mapping[str, int | None]
    ) -> None: ...

    def sent_quantities(self, marketplace: str) -> dict[str, int | None]: ...

    def learn_listed(self, marketplace: str, quantities: Mapping[str, int], now: datetime) -> None:
        """Offers the marketplace's export shows (listed outside the hub or before it):
        record their quantity there, adding a row for each SKU the hub never decided."""
        ...

    def listed_skus(self, marketplace: str, skus: Collection[str] | None = None) -> set[str]:
        """SKUs the marketplace's export showed (``marketplace_quantity`` known)."""
        ...

    def known_prices(self, marketplace: str) -> dict[str, str | None]: ...

    def record_desired_prices(
        self, marketplace: str, prices: Mapping[str, str], now: datetime
    ) -> None: ...

    def pending_prices(self, marketplace: str) -> dict[str, str]: ...

    def mark_prices_sent(
        self, marketplace: str, prices: Mapping[str, str], now: datetime
    ) -> None: ...

    def status_counts(self, marketplace: str) -> dict[str, int]: ...

    def record_import(
        self, marketplace: str, import_id: str, kind: str, lines: int, now: datetime
    ) -> None: ...

    def open_imports(self, marketplace: str, kind: str) -> list[str]: ...

    def finish_import(
        self,
        marketplace: str,
        import_id: str,
        status: str,
        lines_in_error: int | None,
        now: datetime,
    ) -> None: ...

    def cursor(self, flow: str, scope: str) -> str | None: ...

    def set_cursor(self, flow: str, scope: str, value: str, now: datetime) -> None: ...


class ShopStockLookup(Protocol):
    """Shopify, read key by key for an incremental stock cycle."""

    async def variant_stock(self, sku: str) -> list[ShopVariant]:
        """The variants whose SKU is exactly ``sku``, with ``available`` per location."""
        ...

    async def sku_of_inventory_item(self, inventory_item_id: str) -> str | None:
        """The SKU of an inventory item (numeric id); None if it is gone or has none."""
        ...


class DirtyStockKeys(Protocol):
    """Source keys changed since the stock flow last read them (survive restarts)."""

    def mark(self, kind: str, keys: Iterable[str], now: datetime) -> None: ...

    def dirty(self, kind: str) -> dict[str, datetime]:
        """Every dirty key of ``kind`` and when it was last marked."""
        ...

    def clear(self, kind: str, seen: Mapping[str, datetime]) -> None:
        """Clear the keys handled, unless marked again after ``seen[key]``."""
        ...

    def clear_marked_before(self, before: datetime) -> None: ...

    def learn_inventory_items(self, items: Mapping[str, str], now: datetime) -> None:
        """Bind inventory item ids to variant SKUs (learnt during full reads)."""
        ...

    def skus_of_items(self, item_ids: Iterable[str]) -> dict[str, str]: ...
