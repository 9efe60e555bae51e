"""The emulated shop's in-memory records (plain mutable dataclasses, numeric ids)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


@dataclass
class ProductRec:
    id: int
    title: str
    handle: str
    product_type: str
    vendor: str
    tags: list[str]
    variant_ids: list[int]
    created_at: str
    updated_at: str
    status: str = "ACTIVE"


@dataclass
class VariantRec:
    id: int
    product_id: int
    sku: str
    barcode: str | None
    title: str
    price: Decimal
    inventory_item_id: int
    position: int
    created_at: str
    updated_at: str
    #: Supercycle disables Shopify inventory tracking on the products it manages.
    tracked: bool = True


@dataclass
class LocationRec:
    id: int
    name: str
    active: bool = True


@dataclass
class LineItemRec:
    id: int
    variant_id: int | None
    product_id: int | None
    sku: str | None
    title: str
    variant_title: str | None
    quantity: int
    price: Decimal
    requires_shipping: bool
    taxable: bool
    tax_lines: list[dict[str, Any]] = field(default_factory=list)
    fulfilled: int = 0
    refunded: int = 0
    #: Location whose ``available`` was decremented when the order claimed inventory.
    claimed_location_id: int | None = None


@dataclass
class OrderRec:
    id: int
    number: int
    source_identifier: str | None
    source_name: str | None
    tags: list[str]
    email: str | None
    phone: str | None
    note: str | None
    currency: str
    financial_status: str
    created_at: str
    updated_at: str
    processed_at: str
    line_items: list[LineItemRec]
    shipping_address: dict[str, Any] | None
    billing_address: dict[str, Any] | None
    shipping_lines: list[dict[str, Any]]
    tax_lines: list[dict[str, Any]]
    custom_attributes: list[dict[str, str]]
    taxes_included: bool
    test: bool
    cancelled_at: str | None = None
    cancel_reason: str | None = None
    fulfillment_order_ids: list[int] = field(default_factory=list)
    fulfillment_ids: list[int] = field(default_factory=list)
    refund_ids: list[int] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"#{self.number}"

    def subtotal(self) -> Decimal:
        return sum((line.price * line.quantity for line in self.line_items), Decimal("0"))

    def shipping_total(self) -> Decimal:
        return sum((Decimal(str(s["price"])) for s in self.shipping_lines), Decimal("0"))

    def tax_total(self) -> Decimal:
        taxes = [t for line in self.line_items for t in line.tax_lines] + self.tax_lines
        taxes += [t for s in self.shipping_lines for t in s.get("tax_lines", [])]
        return sum((Decimal(str(t.get("price", "0"))) for t in taxes), Decimal("0"))

    def total(self) -> Decimal:
        extra = Decimal("0") if self.taxes_included else self.tax_total()
        return self.subtotal() + self.shipping_total() + extra


@dataclass
class FulfillmentOrderLineRec:
    id: int
    line_item_id: int
    total: int
    remaining: int


@dataclass
class FulfillmentOrderRec:
    id: int
    order_id: int
    location_id: int
    status: str
    lines: list[FulfillmentOrderLineRec]
    created_at: str
    updated_at: str


@dataclass
class FulfillmentRec:
    id: int
    order_id: int
    name: str
    status: str
    created_at: str
    updated_at: str
    location_id: int
    #: ``{"company", "number", "url"}`` per tracking number.
    tracking: list[dict[str, str | None]]
    #: ``(fulfillment line id, line item id, quantity)``.
    lines: list[tuple[int, int, int]]
    fulfillment_order_ids: list[int]


@dataclass
class RefundLineRec:
    id: int
    line_item_id: int
    quantity: int
    restock_type: str
    location_id: int | None
    subtotal: Decimal


@dataclass
class RefundRec:
    id: int
    order_id: int
    created_at: str
    note: str | None
    lines: list[RefundLineRec]
    total: Decimal
    transactions: list[dict[str, Any]]


@dataclass
class WebhookSubscriptionRec:
    id: int
    topic: str
    uri: str
    format: str
    created_at: str
    updated_at: str


@dataclass
class ShopData:
    """Everything the emulated shop holds."""

    shop: str
    currency: str = "GBP"
    products: dict[int, ProductRec] = field(default_factory=dict)
    variants: dict[int, VariantRec] = field(default_factory=dict)
    #: inventory item id -> variant id (one item per variant, as in Shopify).
    items: dict[int, int] = field(default_factory=dict)
    locations: dict[int, LocationRec] = field(default_factory=dict)
    #: (inventory item id, location id) -> ``available``.
    levels: dict[tuple[int, int], int] = field(default_factory=dict)
    orders: dict[int, OrderRec] = field(default_factory=dict)
    fulfillment_orders: dict[int, FulfillmentOrderRec] = field(default_factory=dict)
    fulfillments: dict[int, FulfillmentRec] = field(default_factory=dict)
    refunds: dict[int, RefundRec] = field(default_factory=dict)
    #: refundCreate idempotency key -> refund id.
    refund_keys: dict[str, int] = field(default_factory=dict)
    subscriptions: dict[int, WebhookSubscriptionRec] = field(default_factory=dict)
    line_items: dict[int, tuple[int, LineItemRec]] = field(default_factory=dict)
