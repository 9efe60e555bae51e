"""Mirakl seller API payloads as pydantic models, named and shaped as in the official spec.

Field names come from ``specs/mirakl/mmp-seller-openapi.json`` (the operation is named on
each model). Mirakl's General Notes say clients must tolerate new fields and new enum
values, so:

- every model keeps unknown fields (``extra="allow"``) instead of failing;
- states, types and codes are typed ``str``; the ``StrEnum`` classes below list the
  values known from the spec, for comparisons only (``line.order_line_state ==
  OrderLineState.SHIPPING``), never for validation;
- only identifiers without which a record is meaningless are required; everything else
  has a default, because Mirakl leaves fields out (addresses before acceptance, ...).

Money is ``Decimal`` (the spec's "number with decimals"); dates are aware ``datetime``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mirakl_sync.domain.marketplace_order import LineState
from mirakl_sync.domain.marketplace_order import OrderState as OrderState
from mirakl_sync.domain.marketplace_order import RefundState as RefundState


class MiraklModel(BaseModel):
    """A Mirakl payload: unknown fields are kept, not rejected."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


# --------------------------------------------------------------------------- known values


#: The order, line and refund states are the domain's (one definition, shared with the
#: emulator's state machine); re-exported here under the names the API uses.
OrderLineState = LineState


class PaymentWorkflow(StrEnum):
    """OR11 ``payment_workflow``."""

    PAY_ON_ACCEPTANCE = "PAY_ON_ACCEPTANCE"
    PAY_ON_DELIVERY = "PAY_ON_DELIVERY"
    PAY_ON_DUE_DATE = "PAY_ON_DUE_DATE"
    PAY_ON_SHIPMENT = "PAY_ON_SHIPMENT"
    NO_CUSTOMER_PAYMENT_CONFIRMATION = "NO_CUSTOMER_PAYMENT_CONFIRMATION"


class TaxMode(StrEnum):
    """``order_tax_mode``: how every price of the order is to be read."""

    TAX_INCLUDED = "TAX_INCLUDED"
    TAX_EXCLUDED = "TAX_EXCLUDED"


class ImportStatus(StrEnum):
    """OF02/OF04 ``status``; STO02 and PRI02 use the last four."""

    WAITING_SYNCHRONIZATION_PRODUCT = "WAITING_SYNCHRONIZATION_PRODUCT"
    WAITING = "WAITING"
    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    FAILED = "FAILED"


class ImportMode(StrEnum):
    """OF01 ``import_mode`` (PARTIAL_UPDATE is deprecated and not offered)."""

    NORMAL = "NORMAL"
    REPLACE = "REPLACE"


class ExportStatus(StrEnum):
    """OF53 ``status``."""

    PENDING = "PENDING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


class ReasonType(StrEnum):
    """RE01 ``type`` values used by the hub (the spec lists more)."""

    INCIDENT_OPEN = "INCIDENT_OPEN"
    INCIDENT_CLOSE = "INCIDENT_CLOSE"
    REFUND = "REFUND"
    CANCELATION = "CANCELATION"
    ORDER_MESSAGING = "ORDER_MESSAGING"
    OFFER_MESSAGING = "OFFER_MESSAGING"


# --------------------------------------------------------------------------- shared parts


class CodeAmount(MiraklModel):
    """``{code, amount}``: fees, taxes in requests (OR28/OR30)."""

    code: str | None = None
    amount: Decimal | None = None


class Tax(MiraklModel):
    """A tax on a line, refund or cancelation (OR11/OR28/OR30)."""

    code: str
    amount: Decimal
    rate: Decimal | None = None
    tax_calculation_rule: str | None = None
    origin_unit_amount: Decimal | None = None


class CommissionTax(MiraklModel):
    code: str
    amount: Decimal
    rate: Decimal | None = None


class OrderTax(MiraklModel):
    """OR11 ``order_taxes[]`` and ``order_refunds[].taxes[]``."""

    code: str
    total_amount: Decimal
    rate: Decimal | None = None


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


# --------------------------------------------------------------------------- shipments (ST*)


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


# --------------------------------------------------------------------------- offers


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


# --------------------------------------------------------------------------- reference data


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


# --------------------------------------------------------------------------- accounting


class InvoicePayment(MiraklModel):
    state: str | None = None
    reference: str | None = None
    transaction_date: datetime | None = None
    failure_reason: str | None = None


class Invoice(MiraklModel):
    """IV01 ``invoices[]`` (accounting documents)."""

    invoice_id: int | None = None
    id: str | None = None
    type: str | None = None
    state: str | None = None
    date_created: datetime | None = None
    issue_date: datetime | None = None
    due_date: datetime | None = None
    currency_iso_code: str | None = None
    total_amount_excl_taxes: Decimal | None = None
    total_amount_incl_taxes: Decimal | None = None
    total_charged_amount: Decimal | None = None
    total_taxes: list[dict[str, Any]] = Field(default_factory=list)
    details: list[dict[str, Any]] = Field(default_factory=list)
    payment: InvoicePayment | None = None
    shop_id: int | None = None
    shop_name: str | None = None


class TransactionLine(MiraklModel):
    """TL02 ``data[]``: ``amount`` is signed (credited minus debited)."""

    id: str
    type: str | None = None
    amount: Decimal | None = None
    amount_credited: Decimal | None = None
    amount_debited: Decimal | None = None
    balance: Decimal | None = None
    currency_iso_code: str | None = None
    date_created: datetime | None = None
    last_updated: datetime | None = None
    payment_state: str | None = None
    seller_billing_cycle_id: str | None = None
    accounting_document_id: str | None = None
    accounting_document_number: str | None = None
    entities: dict[str, Any] = Field(default_factory=dict)


class BillingCyclePayOut(MiraklModel):
    state: str | None = None
    reference: str | None = None
    transaction_date: datetime | None = None
    failure_reason: str | None = None


class BillingCycle(MiraklModel):
    """SBC11 ``data[]``."""

    id: str
    date_created: datetime | None = None
    currency_iso_code: str | None = None
    payment_voucher_number: str | None = None
    amount_transferred_to_seller: Decimal | None = None
    amount_transferred_to_operator: Decimal | None = None
    pay_out: BillingCyclePayOut | None = None
    summary: dict[str, Any] = Field(default_factory=dict)
    shop: dict[str, Any] | None = None
