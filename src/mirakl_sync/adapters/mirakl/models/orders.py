"""Mirakl payloads of orders (OR11) and of the order actions: refunds (OR28) and
cancellations (OR29, OR30)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import Field

from mirakl_sync.adapters.mirakl.models.base import (
    CodeAmount,
    CommissionTax,
    MiraklModel,
    OrderTax,
    Tax,
)
from mirakl_sync.domain.marketplace_order import OrderState as OrderState
from mirakl_sync.domain.marketplace_order import RefundState as RefundState

# --------------------------------------------------------------------------- orders (OR11)


class Address(MiraklModel):
    """OR11 customer billing/shipping address; may be null until acceptance."""

    firstname: str | None = None
    lastname: str | None = None
    civility: str | None = None
    company: str | None = None
    company_2: str | None = None
    street_1: str | None = None
    street_2: str | None = None
    zip_code: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    country_iso_code: str | None = None  # ISO 3166 alpha-3
    phone: str | None = None
    phone_secondary: str | None = None
    additional_info: str | None = None  # shipping address only


class Customer(MiraklModel):
    customer_id: str | None = None
    firstname: str | None = None
    lastname: str | None = None
    civility: str | None = None
    locale: str | None = None
    billing_address: Address | None = None
    shipping_address: Address | None = None
    organization: dict[str, Any] | None = None
    accounting_contact: dict[str, Any] | None = None
    delivery_contact: dict[str, Any] | None = None


class OrderReferences(MiraklModel):
    order_reference_for_customer: str | None = None
    order_reference_for_seller: str | None = None


class Channel(MiraklModel):
    code: str
    label: str | None = None


class Refund(MiraklModel):
    """OR11 ``order_lines[].refunds[]``."""

    id: str
    order_refund_id: str | None = None
    amount: Decimal | None = None
    shipping_amount: Decimal | None = None
    quantity: int | None = None
    reason_code: str | None = None
    refund_state: str | None = None  # RefundState
    state: str | None = None  # deprecated twin of refund_state
    commission_amount: Decimal | None = None
    commission_tax_amount: Decimal | None = None
    commission_taxes: list[CommissionTax] = Field(default_factory=list)
    commission_total_amount: Decimal | None = None
    taxes: list[Tax] = Field(default_factory=list)
    shipping_taxes: list[Tax] = Field(default_factory=list)
    fees: list[CodeAmount] = Field(default_factory=list)
    created_date: datetime | None = None
    transaction_date: datetime | None = None
    transaction_number: str | None = None


class Cancelation(MiraklModel):
    """OR11 ``order_lines[].cancelations[]``."""

    id: str
    amount: Decimal | None = None
    shipping_amount: Decimal | None = None
    quantity: int | None = None
    reason_code: str | None = None
    commission_amount: Decimal | None = None
    commission_taxes: list[CommissionTax] = Field(default_factory=list)
    commission_total_amount: Decimal | None = None
    taxes: list[Tax] = Field(default_factory=list)
    shipping_taxes: list[Tax] = Field(default_factory=list)
    fees: list[CodeAmount] = Field(default_factory=list)
    created_date: datetime | None = None


class OrderLine(MiraklModel):
    """OR11 ``orders[].order_lines[]``."""

    order_line_id: str
    order_line_index: int | None = None
    order_line_state: str  # OrderLineState
    order_line_state_reason_code: str | None = None
    order_line_state_reason_label: str | None = None
    offer_id: int | None = None
    offer_sku: str
    offer_state_code: str | None = None
    product_sku: str | None = None
    product_shop_sku: str | None = None
    product_title: str | None = None
    category_code: str | None = None
    category_label: str | None = None
    description: str | None = None
    quantity: int
    price_unit: Decimal | None = None
    price: Decimal | None = None
    origin_unit_price: Decimal | None = None
    price_additional_info: str | None = None
    total_price: Decimal | None = None
    shipping_price: Decimal | None = None
    shipping_price_unit: Decimal | None = None
    shipping_price_additional_unit: Decimal | None = None
    taxes: list[Tax] = Field(default_factory=list)
    shipping_taxes: list[Tax] = Field(default_factory=list)
    fees: list[CodeAmount] = Field(default_factory=list)
    commission_fee: Decimal | None = None
    commission_vat: Decimal | None = None
    commission_rate_vat: Decimal | None = None
    commission_taxes: list[CommissionTax] = Field(default_factory=list)
    total_commission: Decimal | None = None
    can_refund: bool | None = None
    refunds: list[Refund] = Field(default_factory=list)
    cancelations: list[Cancelation] = Field(default_factory=list)
    shipping_from: dict[str, Any] | None = None
    order_line_additional_fields: list[dict[str, Any]] = Field(default_factory=list)
    created_date: datetime | None = None
    last_updated_date: datetime | None = None
    debited_date: datetime | None = None
    shipped_date: datetime | None = None
    received_date: datetime | None = None


class Order(MiraklModel):
    """OR11 ``orders[]``: one logistic order of one shop."""

    order_id: str
    commercial_id: str | None = None
    order_state: str  # OrderState
    order_state_reason_code: str | None = None
    order_state_reason_label: str | None = None
    references: OrderReferences | None = None
    channel: Channel | None = None
    created_date: datetime | None = None
    last_updated_date: datetime | None = None
    acceptance_decision_date: datetime | None = None
    customer_debited_date: datetime | None = None
    shipping_deadline: datetime | None = None
    transaction_date: datetime | None = None
    transaction_number: str | None = None
    can_cancel: bool | None = None
    can_shop_ship: bool | None = None
    has_incident: bool | None = None
    has_customer_message: bool | None = None
    has_invoice: bool | None = None
    fully_refunded: bool | None = None
    currency_iso_code: str | None = None
    price: Decimal | None = None
    shipping_price: Decimal | None = None
    total_price: Decimal | None = None
    total_commission: Decimal | None = None
    order_tax_mode: str | None = None  # TaxMode
    order_taxes: list[OrderTax] = Field(default_factory=list)
    order_refunds: list[dict[str, Any]] = Field(default_factory=list)
    payment_type: str | None = None
    payment_workflow: str | None = None  # PaymentWorkflow
    promotions: dict[str, Any] | None = None
    shipping_type_code: str | None = None
    shipping_type_label: str | None = None
    shipping_zone_code: str | None = None
    shipping_zone_label: str | None = None
    shipping_carrier_code: str | None = None
    shipping_carrier_standard_code: str | None = None
    shipping_company: str | None = None
    shipping_tracking: str | None = None
    shipping_tracking_url: str | None = None
    shipping_pudo_id: str | None = None
    leadtime_to_ship: int | None = None
    delivery_date: dict[str, Any] | None = None
    fulfillment: dict[str, Any] | None = None
    customer: Customer | None = None
    customer_notification_email: str | None = None
    order_additional_fields: list[dict[str, Any]] = Field(default_factory=list)
    order_lines: list[OrderLine] = Field(default_factory=list)


# --------------------------------------------------------------------------- order actions


class RefundCreated(MiraklModel):
    """OR28 response ``refunds[]``."""

    refund_id: str
    order_refund_id: str | None = None
    order_line_id: str
    amount: Decimal | None = None
    shipping_amount: Decimal | None = None
    quantity: int | None = None
    reason_code: str | None = None
    currency_iso_code: str | None = None
    taxes: list[Tax] = Field(default_factory=list)
    shipping_taxes: list[Tax] = Field(default_factory=list)
    fees: list[CodeAmount] = Field(default_factory=list)
    excluded_from_shipment: bool | None = None


class RefundsCreated(MiraklModel):
    """OR28 response."""

    order_tax_mode: str | None = None
    refunds: list[RefundCreated] = Field(default_factory=list)


class CancelationCreated(MiraklModel):
    """OR30 response ``cancelations[]``."""

    cancelation_id: str
    order_line_id: str
    amount: Decimal | None = None
    shipping_amount: Decimal | None = None
    quantity: int | None = None
    reason_code: str | None = None
    currency_iso_code: str | None = None
    taxes: list[Tax] = Field(default_factory=list)
    shipping_taxes: list[Tax] = Field(default_factory=list)
    fees: list[CodeAmount] = Field(default_factory=list)


class CancelationsCreated(MiraklModel):
    """OR30 response."""

    order_tax_mode: str | None = None
    cancelations: list[CancelationCreated] = Field(default_factory=list)


class RefundRequest(MiraklModel):
    """OR28 request ``refunds[]``: ``taxes`` are required when the line has taxes."""

    order_line_id: str
    amount: Decimal
    shipping_amount: Decimal
    reason_code: str
    quantity: int | None = None
    currency_iso_code: str | None = None
    taxes: list[CodeAmount] | None = None
    shipping_taxes: list[CodeAmount] | None = None
    fees: list[CodeAmount] | None = None
    excluded_from_shipment: bool | None = None


class CancelationRequest(MiraklModel):
    """OR30 request ``cancelations[]``."""

    order_line_id: str
    amount: Decimal
    shipping_amount: Decimal
    quantity: int
    reason_code: str
    currency_iso_code: str | None = None
    taxes: list[CodeAmount] | None = None
    shipping_taxes: list[CodeAmount] | None = None
    fees: list[CodeAmount] | None = None
