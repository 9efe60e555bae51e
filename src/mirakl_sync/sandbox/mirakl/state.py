"""The emulator's in-memory records: offers, orders, shipments, imports, exports, accounting.

Plain mutable dataclasses guarded by the emulator's lock; money is kept as floats rounded
to pennies (the API speaks JSON numbers), dates as epoch seconds.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mirakl_sync.domain.marketplace_order import LineState, OrderState, RefundState
from mirakl_sync.sandbox.mirakl.marketplace import EmulatedMarketplace


def money(value: float) -> float:
    return round(value + 0.0, 2)


def iso(ts: float) -> str:
    """Mirakl's response date format: UTC with milliseconds and a trailing ``Z``."""
    dt = datetime.fromtimestamp(ts, UTC)
    return f"{dt:%Y-%m-%dT%H:%M:%S}.{dt.microsecond // 1000:03d}Z"


def parse_date(text: str) -> float:
    """A request date (ISO-8601, ``Z`` or an offset; naive means UTC) as epoch seconds."""
    dt = datetime.fromisoformat(text.strip().replace(" ", "+"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


@dataclass
class Offer:
    offer_id: int
    shop_sku: str
    product_id: str
    product_id_type: str
    price: float
    quantity: int
    state_code: str
    product_title: str
    category_code: str
    category_label: str
    description: str
    created: float
    last_updated: float
    discount_price: float | None = None
    leadtime_to_ship: int = 2
    logistic_class: str = "M"
    min_quantity_alert: int = 0
    min_order_quantity: int = 1
    max_order_quantity: int = 100
    package_quantity: int = 1
    deleted: bool = False

    @property
    def active(self) -> bool:
        return not self.deleted and self.quantity > 0

    @property
    def total_price(self) -> float:
        return self.discount_price if self.discount_price is not None else self.price


@dataclass
class Refund:
    id: str
    order_refund_id: str
    amount: float
    shipping_amount: float
    quantity: int
    reason_code: str
    commission_amount: float
    commission_tax_amount: float
    created: float
    state: RefundState = RefundState.WAITING_REFUND
    transaction_date: float | None = None


@dataclass
class Cancelation:
    id: str
    amount: float
    shipping_amount: float
    quantity: int
    reason_code: str
    commission_amount: float
    commission_tax_amount: float
    created: float


@dataclass
class OrderLine:
    line_id: str
    index: int
    offer_id: int
    offer_sku: str
    offer_state_code: str
    product_sku: str
    product_title: str
    category_code: str
    category_label: str
    quantity: int
    price_unit: float
    shipping_price: float
    state: LineState
    created: float
    last_updated: float
    refunds: list[Refund] = field(default_factory=list)
    cancelations: list[Cancelation] = field(default_factory=list)
    debited: float | None = None
    shipped: float | None = None
    received: float | None = None

    @property
    def price(self) -> float:
        return money(self.price_unit * self.quantity)


@dataclass
class Order:
    order_id: str
    commercial_id: str
    created: float
    last_updated: float
    state: OrderState
    lines: list[OrderLine]
    customer: dict[str, Any]
    channel_code: str | None
    reference_for_customer: str
    acceptance_decision_date: float | None = None
    accepted_at: float | None = None
    customer_debited_date: float | None = None
    shipped_at: float | None = None
    received_at: float | None = None
    carrier_code: str | None = None
    carrier_name: str | None = None
    carrier_standard_code: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    reference_for_seller: str | None = None


@dataclass
class Shipment:
    id: str
    order_id: str
    lines: list[dict[str, Any]]
    tracking: dict[str, str]
    status: str
    created: float
    last_updated: float
    shipped: float | None = None
    invoice_reference: str | None = None
    warehouse_code: str | None = None


@dataclass
class ImportJob:
    """One OF01/OF24/STO01/PRI01 import, processed asynchronously by the clock."""

    kind: str  # OF01 | OF24 | STO01 | PRI01
    import_id: int | str
    created: float
    mode: str
    header: list[str]
    rows: list[dict[str, str]]
    offers_json: list[dict[str, Any]] | None = None
    status: str = "WAITING"
    reason_status: str = ""
    lines_read: int = 0
    lines_in_success: int = 0
    lines_in_error: int = 0
    offer_inserted: int = 0
    offer_updated: int = 0
    offer_deleted: int = 0
    offers_in_error: int = 0
    offers_updated: int = 0
    errors: list[tuple[int, dict[str, str], str]] = field(default_factory=list)


@dataclass
class ExportJob:
    """One OF52 offer export; files are snapshots taken when the job completes."""

    tracking_id: str
    created: float
    export_type: str
    last_request_date: float | None
    include_inactive: bool
    items_per_chunk: int
    status: str = "PENDING"
    completed: float | None = None
    chunks: list[list[dict[str, Any]]] = field(default_factory=list)


@dataclass
class TransactionLog:
    id: str
    type: str
    amount: float
    created: float
    last_updated: float
    payment_state: str
    order_id: str | None = None
    commercial_id: str | None = None
    order_line_id: str | None = None
    refund_id: str | None = None
    billing_cycle_id: str | None = None
    balance: float = 0.0


@dataclass
class BillingCycle:
    id: str
    created: float
    amount_to_seller: float
    voucher: str
    summary: dict[str, float]
    invoice_id: int


@dataclass
class Invoice:
    invoice_id: int
    id: str
    created: float
    billing_cycle_id: str
    details: list[dict[str, Any]]
    total_excl: float
    total_taxes: float


@dataclass
class MarketState:
    """Everything one marketplace holds for the seller's shop."""

    config: EmulatedMarketplace
    rng: random.Random
    offers: dict[str, Offer] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    shipments: dict[str, Shipment] = field(default_factory=dict)
    imports: dict[str, ImportJob] = field(default_factory=dict)
    exports: dict[str, ExportJob] = field(default_factory=dict)
    logs: list[TransactionLog] = field(default_factory=list)
    cycles: list[BillingCycle] = field(default_factory=list)
    invoices: list[Invoice] = field(default_factory=list)
    counter: int = 0
    balance: float = 0.0
    last_cycle: float = 0.0

    def next_number(self) -> int:
        self.counter += 1
        return self.counter

    def uuid(self) -> str:
        """A UUID4-shaped identifier drawn from the marketplace's seeded generator."""
        n = self.rng.getrandbits(128)
        h = f"{n:032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"
