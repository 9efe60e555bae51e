"""``MiraklOffers``: a ``MiraklClient`` seen as the stock, price and offer flows' port.

It turns the hub's values into Mirakl's files (STO01, PRI01, OF01), import tracking into
``ImportProgress`` and error reports into per-SKU lines, and reads the OF52 export as
JSON (``export_type=application/json``, one of the two documented types).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from mirakl_sync.adapters.mirakl.client import MiraklClient
from mirakl_sync.adapters.mirakl.csv_files import (
    ErrorReportRow,
    OfferLine,
    PriceLine,
    StockLine,
    offers_csv,
    parse_error_report,
)
from mirakl_sync.domain.offers import ExportedOffer, ImportErrorLine, ImportProgress, OfferRow
from mirakl_sync.errors import PermanentError

#: OF53 statuses (``ExportStatus``): PENDING, COMPLETED, FAILED.
EXPORT_COMPLETED = "COMPLETED"
EXPORT_FAILED = "FAILED"


class MiraklOffers:
    def __init__(self, client: MiraklClient) -> None:
        self.client = client
        self.marketplace = client.marketplace

    # -- stock (STO01/02/03) -----------------------------------------------------------------

    async def push_stock(self, quantities: Mapping[str, int]) -> str:
        lines = [StockLine(sku, quantity) for sku, quantity in quantities.items()]
        created = await self.client.import_stock(lines)
        return created.import_id

    async def stock_import(self, import_id: str) -> ImportProgress:
        status = await self.client.stock_import_status(import_id)
        return ImportProgress(
            import_id, status.status, status.lines_in_error, status.has_error_report
        )

    async def stock_import_errors(self, import_id: str) -> list[ImportErrorLine]:
        return _lines(await self.client.stock_import_error_report(import_id), "offer-sku")

    # -- prices (PRI01/02/03) ----------------------------------------------------------------

    async def push_prices(self, prices: Mapping[str, Decimal]) -> str:
        # One line per offer = its full price set (one default price, no discount): PRI01
        # deletes every other price of a submitted offer.
        lines = [PriceLine(sku, price) for sku, price in prices.items()]
        created = await self.client.import_prices(lines)
        return created.id

    async def price_import(self, import_id: str) -> ImportProgress:
        async for found in self.client.price_imports(import_ids=[import_id]):
            if found.import_id == import_id:
                return ImportProgress(
                    import_id,
                    found.status,
                    found.lines_in_error,
                    found.has_error_report,
                    found.reason_status,
                )
        return ImportProgress(import_id, "WAITING")

    async def price_import_errors(self, import_id: str) -> list[ImportErrorLine]:
        return _lines(await self.client.price_import_error_report(import_id), "offer-sku")

    # -- offers (OF01/02/03) -----------------------------------------------------------------

    async def push_offers(self, rows: Sequence[OfferRow], *, replace: bool = False) -> str:
        content = offers_csv(
            OfferLine(r.sku, r.product_id, r.product_id_type, r.price, r.quantity, r.state)
            for r in rows
        )
        created = await self.client.import_offers_file(
            content, import_mode="REPLACE" if replace else "NORMAL"
        )
        return str(created.import_id)

    async def offer_import(self, import_id: str) -> ImportProgress:
        status = await self.client.offer_import_status(int(import_id))
        return ImportProgress(
            import_id,
            status.status,
            status.lines_in_error,
            status.has_error_report,
            status.reason_status,
        )

    async def offer_import_errors(self, import_id: str) -> list[ImportErrorLine]:
        content = await self.client.offer_import_error_report(int(import_id))
        return _lines(parse_error_report(content, line_number_first=False), "sku")

    # -- export (OF52/53/54) -----------------------------------------------------------------

    async def start_export(self, since: datetime | None) -> str:
        started = await self.client.start_offer_export(
            last_request_date=since, export_type="application/json"
        )
        return started.tracking_id

    async def export_urls(self, tracking_id: str) -> list[str] | None:
        status = await self.client.offer_export_status(tracking_id)
        if status.status == EXPORT_FAILED:
            raise PermanentError(
                f"OF53: offer export {tracking_id} failed ({status.error}); start a new one",
                system="mirakl",
            )
        return list(status.urls) if status.status == EXPORT_COMPLETED else None

    async def download_export(self, url: str) -> list[ExportedOffer]:
        body = await self.client.download_export_chunk(url)
        rows: Any = json.loads(body or b"[]")
        return [_exported(row) for row in rows if isinstance(row, dict)]


def _lines(rows: list[ErrorReportRow], sku_column: str) -> list[ImportErrorLine]:
    return [
        ImportErrorLine(row.values.get(sku_column, "").strip(), row.message)
        for row in rows
        if row.values.get(sku_column, "").strip()
    ]


def _exported(row: dict[str, Any]) -> ExportedOffer:
    price: Decimal | None = None
    prices = row.get("prices") or []
    if prices and isinstance(prices[0], dict) and prices[0].get("origin_price") is not None:
        try:
            price = Decimal(str(prices[0]["origin_price"]))
        except InvalidOperation:
            price = None
    return ExportedOffer(
        shop_sku=str(row.get("shop_sku") or ""),
        quantity=int(row.get("quantity") or 0),
        active=bool(row.get("active")),
        deleted=bool(row.get("deleted")),
        price=price,
        state=row.get("state_code"),
    )
