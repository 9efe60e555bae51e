"""Mirakl payloads of shipments (ST01, ST11, ST23, ST24)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from mirakl_sync.adapters.mirakl.models.base import MiraklModel
from mirakl_sync.domain.marketplace_order import OrderState as OrderState
from mirakl_sync.domain.marketplace_order import RefundState as RefundState


class ShipmentTracking(MiraklModel):
    """ST01/ST23 ``tracking`` (request and response)."""

    carrier_code: str | None = None
    carrier_name: str | None = None
    carrier_standard_code: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None


class ShipmentLine(MiraklModel):
    """ST01 ``shipment_lines[]``: ``order_line_id`` preferred (``offer_sku`` is deprecated)."""

    order_line_id: str | None = None
    offer_sku: str | None = None
    quantity: int
    package_reference: str | None = None


class NewShipment(MiraklModel):
    """ST01 request ``shipments[]``."""

    order_id: str
    shipment_lines: list[ShipmentLine]
    tracking: ShipmentTracking | None = None
    shipped: bool | None = None
    shipping_from: dict[str, Any] | None = None
    invoice_reference: str | None = None
    shipment_additional_information: list[dict[str, Any]] | None = None


class Shipment(MiraklModel):
    """ST01 ``shipment_success[]`` and ST11 ``data[]``."""

    id: str
    order_id: str
    status: str
    status_customer_debit: str | None = None
    created_date: datetime | None = None
    last_updated_date: datetime | None = None
    shipped_date: datetime | None = None
    invoice_reference: str | None = None
    shipment_lines: list[ShipmentLine] = Field(default_factory=list)
    tracking: ShipmentTracking | None = None
    shipping_from: dict[str, Any] | None = None
    payment_details: dict[str, Any] | None = None
    shipment_additional_information: list[dict[str, Any]] = Field(default_factory=list)


class ShipmentError(MiraklModel):
    """A refused shipment inside a 2xx answer (ST01: ``order_id``; ST23/ST24: ``id``)."""

    order_id: str | None = None
    id: str | None = None
    message: str | None = None


class ShipmentId(MiraklModel):
    id: str


class ShipmentsCreated(MiraklModel):
    """ST01 response: partial success is normal, always read ``shipment_errors``."""

    shipment_success: list[Shipment] = Field(default_factory=list)
    shipment_errors: list[ShipmentError] = Field(default_factory=list)


class ShipmentsUpdated(MiraklModel):
    """ST23 / ST24 response."""

    shipment_success: list[ShipmentId] = Field(default_factory=list)
    shipment_errors: list[ShipmentError] = Field(default_factory=list)
