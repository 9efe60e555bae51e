"""The stock and price operations of ``MiraklClient``: CSV imports of offer quantities
(STO01-STO03) and of prices (PRI01-PRI03), their status and their error reports.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime

from mirakl_sync.adapters.mirakl.client_params import _list, _seg
from mirakl_sync.adapters.mirakl.client_transport import MiraklTransport
from mirakl_sync.adapters.mirakl.csv_files import (
    ErrorReportRow,
    PriceLine,
    StockLine,
    parse_error_report,
    price_csv,
    stock_csv,
)
from mirakl_sync.adapters.mirakl.models import (
    PriceImport,
    PriceImportCreated,
    StockImport,
    StockImportCreated,
)


class StockPriceOperations(MiraklTransport):
    """The client's operations STO01, STO02, STO03, PRI01, PRI02 and PRI03."""

    async def import_stock(
        self, lines: Sequence[StockLine] | bytes, *, filename: str = "stock.csv"
    ) -> StockImportCreated:
        """STO01: import offer quantities (a CSV built by ``csv_files.stock_csv``)."""
        content = lines if isinstance(lines, bytes) else stock_csv(lines)
        return await self._model(
            StockImportCreated,
            "STO01",
            "POST",
            "/api/offers/stock/imports",
            files={"file": (filename, content, "text/csv")},
        )

    async def stock_import_status(self, import_id: str) -> StockImport:
        """STO02: the status of a stock import."""
        return await self._model(
            StockImport, "STO02", "GET", f"/api/offers/stock/imports/{_seg(import_id)}/status"
        )

    async def stock_import_error_report(self, import_id: str) -> list[ErrorReportRow]:
        """STO03: the lines in error (line number, reason, original columns)."""
        response = await self._call(
            "STO03", "GET", f"/api/offers/stock/imports/{_seg(import_id)}/error_report"
        )
        return parse_error_report(response.content)

    async def import_prices(
        self, lines: Sequence[PriceLine] | bytes, *, filename: str = "prices.csv"
    ) -> PriceImportCreated:
        """PRI01: import prices; every price of a submitted offer missing from the file is
        deleted."""
        content = lines if isinstance(lines, bytes) else price_csv(lines)
        return await self._model(
            PriceImportCreated,
            "PRI01",
            "POST",
            "/api/offers/pricing/imports",
            files={"file": (filename, content, "text/csv")},
        )

    async def price_imports(
        self,
        *,
        import_ids: Sequence[str] | None = None,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        status: str | None = None,
        origins: Sequence[str] | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[PriceImport]:
        """PRI02: price imports and their status (seek pages)."""
        params = {
            "import_id": _list(import_ids),
            "start_date": start_date,
            "end_date": end_date,
            "status": status,
            "origins": _list(origins),
        }
        async for item in self._seek(
            PriceImport, "PRI02", "/api/offers/pricing/imports", params, page_size
        ):
            yield item

    async def price_import_error_report(self, import_id: str) -> list[ErrorReportRow]:
        """PRI03: the price lines in error."""
        response = await self._call(
            "PRI03", "GET", f"/api/offers/pricing/imports/{_seg(import_id)}/error_report"
        )
        return parse_error_report(response.content)
