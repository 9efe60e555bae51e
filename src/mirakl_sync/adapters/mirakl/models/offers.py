"""Mirakl payloads of offers, their imports (OF01, STO01, PRI01) and exports (OF52)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import Field

from mirakl_sync.adapters.mirakl.models.base import MiraklModel
from mirakl_sync.domain.marketplace_order import OrderState as OrderState
from mirakl_sync.domain.marketplace_order import RefundState as RefundState


class ProductReference(MiraklModel):
    reference: str
    reference_type: str


class WarehouseQuantity(MiraklModel):
    code: str
    quantity: int


class Offer(MiraklModel):
    """OF21 ``offers[]``."""

    offer_id: int
    shop_sku: str
    product_sku: str | None = None
    product_title: str | None = None
    product_references: list[ProductReference] = Field(default_factory=list)
    state_code: str | None = None
    active: bool | None = None
    inactivity_reasons: list[str] = Field(default_factory=list)
    quantity: int | None = None
    price: Decimal | None = None
    total_price: Decimal | None = None
    currency_iso_code: str | None = None
    all_prices: list[dict[str, Any]] = Field(default_factory=list)
    applicable_pricing: dict[str, Any] | None = None
    discount: dict[str, Any] | None = None
    description: str | None = None
    internal_description: str | None = None
    price_additional_info: str | None = None
    category_code: str | None = None
    category_label: str | None = None
    channels: list[str] = Field(default_factory=list)
    leadtime_to_ship: int | None = None
    logistic_class: dict[str, Any] | None = None
    min_order_quantity: int | None = None
    max_order_quantity: int | None = None
    package_quantity: int | None = None
    min_quantity_alert: int | None = None
    product_tax_code: str | None = None
    warehouses: list[WarehouseQuantity] = Field(default_factory=list)
    offer_additional_fields: list[dict[str, Any]] = Field(default_factory=list)
    available_start_date: datetime | None = None
    available_end_date: datetime | None = None


class OfferUpsert(MiraklModel):
    """OF24 request ``offers[]``. Mirakl REPLACES the whole offer: send every field you want kept.

    ``update_delete`` is ``"update"`` (or ``""``) or ``"delete"``; ``product_id`` and
    ``product_id_type`` are required when the offer is created.
    """

    shop_sku: str
    state_code: str
    update_delete: str = "update"
    price: Decimal
    product_id: str | None = None
    product_id_type: str | None = None
    quantity: int | None = None
    description: str | None = None
    internal_description: str | None = None
    price_additional_info: str | None = None
    discount: dict[str, Any] | None = None
    all_prices: list[dict[str, Any]] | None = None
    available_started: str | None = None
    available_ended: str | None = None
    leadtime_to_ship: int | None = None
    logistic_class: str | None = None
    min_order_quantity: int | None = None
    max_order_quantity: int | None = None
    package_quantity: int | None = None
    min_quantity_alert: int | None = None
    allow_quote_requests: bool | None = None
    product_tax_code: str | None = None
    pricing_unit: str | None = None
    offer_additional_fields: list[dict[str, Any]] | None = None


class ImportCreated(MiraklModel):
    """OF01 / OF24 response (``import_id`` is int64; OF01 may add ``product_import_id``)."""

    import_id: int
    product_import_id: int | None = None


class OfferImport(MiraklModel):
    """OF02 response and OF04 ``data[]``."""

    import_id: int
    status: str  # ImportStatus
    mode: str | None = None
    date_created: datetime | None = None
    reason_status: str | None = None
    lines_read: int | None = None
    lines_in_success: int | None = None
    lines_in_error: int | None = None
    lines_in_pending: int | None = None
    offer_inserted: int | None = None
    offer_updated: int | None = None
    offer_deleted: int | None = None
    has_error_report: bool = False
    origin: str | None = None  # OF04 only
    shop_id: int | None = None  # OF04 only
    type: str | None = None  # OF02, deprecated


class StockImportCreated(MiraklModel):
    """STO01 response: the import id is a string here."""

    import_id: str


class StockImport(MiraklModel):
    """STO02 response."""

    import_id: str
    status: str  # ImportStatus (WAITING, RUNNING, COMPLETE, FAILED)
    date_created: datetime | None = None
    has_error_report: bool = False
    lines_in_success: int | None = None
    lines_in_error: int | None = None
    shop_id: int | None = None


class PriceImportCreated(MiraklModel):
    """PRI01 response: the spec lists both ``import_id`` and ``importId``."""

    import_id: str | None = None
    importId: str | None = None  # Mirakl spells it both ways

    @property
    def id(self) -> str:
        """The import's id, whichever spelling Mirakl used."""
        value = self.import_id or self.importId
        if value is None:
            raise ValueError("PRI01 answered without an import id")
        return value


class PriceImport(MiraklModel):
    """PRI02 ``data[]``."""

    import_id: str
    status: str
    date_created: datetime | None = None
    has_error_report: bool = False
    lines_in_success: int | None = None
    lines_in_error: int | None = None
    offers_in_error: int | None = None
    offers_updated: int | None = None
    origin: str | None = None
    reason_status: str | None = None
    shop_id: int | None = None


class ExportStarted(MiraklModel):
    """OF52 response."""

    tracking_id: str


class ExportStatusInfo(MiraklModel):
    """OF53 response: when ``status`` is COMPLETED, download each of ``urls`` with OF54."""

    status: str  # ExportStatus
    urls: list[str] = Field(default_factory=list)
    last_updated: datetime | None = None
    error: dict[str, Any] | None = None
