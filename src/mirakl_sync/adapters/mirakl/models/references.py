"""Mirakl reference data: carriers (SH21), reasons (RE01), offer conditions, the platform's
configuration, the shop account (A01)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from mirakl_sync.adapters.mirakl.models.base import MiraklModel
from mirakl_sync.domain.marketplace_order import OrderState as OrderState
from mirakl_sync.domain.marketplace_order import RefundState as RefundState


class Carrier(MiraklModel):
    """SH21 ``carriers[]``; ``tracking_url`` holds a ``{trackingId}`` placeholder."""

    code: str
    label: str
    standard_code: str | None = None
    tracking_url: str | None = None


class Reason(MiraklModel):
    """RE01 ``reasons[]``: use only reasons with ``is_shop_right``."""

    code: str
    label: str
    type: str  # ReasonType
    is_shop_right: bool = False


class OfferCondition(MiraklModel):
    """OF61 ``offer_states[]`` (the ``state`` / ``state_code`` of an offer)."""

    code: str
    label: str


class PlatformConfiguration(MiraklModel):
    """PC01 response; ``features`` and ``modules`` are kept as Mirakl sends them.

    Useful paths: ``features["shipment"]["multi_shipment"]``,
    ``features["order_workflows"]["order_acceptance"]`` (AUTOMATIC, NOT_AUTOMATIC, BOTH),
    ``features["order_tax_mode"]``.
    """

    platform_name: str | None = None
    tenant_name: str | None = None
    timezone: str | None = None
    features: dict[str, Any] = Field(default_factory=dict)
    modules: dict[str, Any] = Field(default_factory=dict)
    platform_configuration: dict[str, Any] = Field(default_factory=dict)

    @property
    def multi_shipment(self) -> bool:
        """Whether the ST* shipment APIs are enabled (else use OR23 + OR24)."""
        shipment = self.features.get("shipment") or {}
        return bool(shipment.get("multi_shipment", False))

    @property
    def order_acceptance(self) -> str | None:
        workflows = self.features.get("order_workflows") or {}
        value = workflows.get("order_acceptance")
        return str(value) if value is not None else None


class Account(MiraklModel):
    """A01 response (the fields the hub reads; the rest are kept as extras)."""

    shop_id: int
    shop_name: str | None = None
    shop_state: str | None = None
    currency_iso_code: str | None = None
    channels: list[str] = Field(default_factory=list)
    domains: list[str] = Field(default_factory=list)
    is_professional: bool | None = None
    premium: bool | None = None
    offers_count: int | None = None
    orders_count: int | None = None
    shipping_zones: list[str] = Field(default_factory=list)
    shipping_types: list[str] = Field(default_factory=list)
    date_created: datetime | None = None
    last_updated_date: datetime | None = None
    suspension_type: str | None = None
