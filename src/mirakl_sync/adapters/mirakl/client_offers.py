"""The offer operations of ``MiraklClient``: offer file imports and their reports
(OF01-OF04), offer listing and upserts (OF21, OF24) and asynchronous offer exports
(OF52-OF54).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime

from mirakl_sync.adapters.mirakl.client_params import (
    _bool,
    _comma,
    _content_type,
    _drop_none,
    _dump,
    _format,
    _list,
    _seg,
)
from mirakl_sync.adapters.mirakl.client_transport import MiraklTransport
from mirakl_sync.adapters.mirakl.models import (
    ExportStarted,
    ExportStatusInfo,
    ImportCreated,
    Offer,
    OfferImport,
    OfferUpsert,
)


class OfferOperations(MiraklTransport):
    """The client's operations OF01, OF02, OF03, OF04, OF21, OF24, OF52, OF53 and OF54."""

    async def import_offers_file(
        self,
        content: bytes,
        *,
        import_mode: str = "NORMAL",
        with_products: bool = False,
        operator_format: bool | None = None,
        filename: str = "offers.csv",
    ) -> ImportCreated:
        """OF01: import an offers file. REPLACE deletes every offer missing from the file."""
        if import_mode not in ("NORMAL", "REPLACE"):
            raise ValueError("import_mode must be NORMAL or REPLACE (PARTIAL_UPDATE is deprecated)")
        data = {"import_mode": import_mode, "with_products": _bool(with_products)}
        if operator_format is not None:
            data["operator_format"] = _bool(operator_format)
        return await self._model(
            ImportCreated,
            "OF01",
            "POST",
            "/api/offers/imports",
            files={"file": (filename, content, _content_type(filename))},
            data=data,
            extra_budgets=("OF01:with_products",) if with_products else (),
        )

    async def offer_import_status(self, import_id: int) -> OfferImport:
        """OF02: the status of an offer import (OF01 or OF24)."""
        return await self._model(OfferImport, "OF02", "GET", f"/api/offers/imports/{import_id}")

    async def offer_import_error_report(self, import_id: int) -> bytes:
        """OF03: the error report, in the uploaded file's format (CSV for ours)."""
        response = await self._call("OF03", "GET", f"/api/offers/imports/{import_id}/error_report")
        return response.content

    async def list_offer_imports(
        self,
        *,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        status: str | None = None,
        mode: str | None = None,
        origins: Sequence[str] | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[OfferImport]:
        """OF04: offer imports (seek pages; each page is an OF04 call, 1 per minute)."""
        params = {
            "start_date": start_date,
            "end_date": end_date,
            "status": status,
            "mode": mode,
            "origins": _list(origins),
        }
        async for item in self._seek(OfferImport, "OF04", "/api/offers/imports", params, page_size):
            yield item

    async def list_offers(
        self,
        *,
        offer_state_codes: Sequence[str] | None = None,
        sku: str | None = None,
        product_id: str | None = None,
        favorite: bool | None = None,
        pricing_channel_code: str | None = None,
        pricing_customer_organization_id: str | None = None,
        sort: str | None = None,
        order: str | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[Offer]:
        """OF21: the shop's offers (offset pages). Mirakl means it for UI views; bulk sync
        should use the OF52 export."""
        params = {
            "offer_state_codes": _comma(offer_state_codes),
            "sku": sku,
            "product_id": product_id,
            "favorite": favorite,
            "pricing_channel_code": pricing_channel_code,
            "pricing_customer_organization_id": pricing_customer_organization_id,
            "sort": sort,
            "order": order,
        }
        async for item in self._offset(Offer, "OF21", "/api/offers", params, "offers", page_size):
            yield item

    async def upsert_offers(self, offers: Sequence[OfferUpsert]) -> ImportCreated:
        """OF24: create, update or delete offers. Each offer is REPLACED: send all fields."""
        if not offers:
            raise ValueError("OF24 needs at least one offer")
        body = {"offers": [_dump(offer) for offer in offers]}
        return await self._model(ImportCreated, "OF24", "POST", "/api/offers", json=body)

    async def start_offer_export(
        self,
        *,
        last_request_date: datetime | None = None,
        include_inactive_offers: bool | None = None,
        export_type: str = "application/json",
        include_fields: Sequence[str] | None = None,
        channel_codes: Sequence[str] | None = None,
        items_per_chunk: int | None = None,
        megabytes_per_chunk: int | None = None,
    ) -> ExportStarted:
        """OF52: start an offer export; without ``last_request_date`` it is a full export
        (also takes the once-per-day ``OF52:full`` budget)."""
        body = _drop_none(
            {
                "last_request_date": _format(last_request_date) if last_request_date else None,
                "include_inactive_offers": include_inactive_offers,
                "export_type": export_type,
                "include_fields": list(include_fields) if include_fields else None,
                "channel_codes": list(channel_codes) if channel_codes else None,
                "items_per_chunk": items_per_chunk,
                "megabytes_per_chunk": megabytes_per_chunk,
            }
        )
        return await self._model(
            ExportStarted,
            "OF52",
            "POST",
            "/api/offers/export/async",
            json=body,
            extra_budgets=() if last_request_date else ("OF52:full",),
        )

    async def offer_export_status(self, tracking_id: str) -> ExportStatusInfo:
        """OF53: the export's status; COMPLETED gives the ``urls`` to download (OF54)."""
        return await self._model(
            ExportStatusInfo,
            "OF53",
            "GET",
            f"/api/offers/export/async/status/{_seg(tracking_id)}",
        )

    async def download_export_chunk(self, url: str) -> bytes:
        """OF54: download one chunk URL returned by OF53 (once per URL)."""
        response = await self._call("OF54", "GET", url, absolute_url=url)
        return response.content
