"""The Supercycle emulator's records (variants, conditions, items, customers, rentals,
return orders and their lines, blocked dates), the rental statuses that hold an item, and
``EmulatorError``, the API error the rules raise."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from mirakl_sync.adapters.supercycle.models import RentalStatus
from mirakl_sync.domain.item_availability import DateRange

ACTIVE_RENTAL_STATUSES = frozenset(
    {RentalStatus.UNFULFILLED, RentalStatus.FULFILLED, RentalStatus.UNRECEIVED}
)
CLOSED_RENTAL_STATUSES = frozenset({RentalStatus.RECEIVED, RentalStatus.CANCELLED})


class EmulatorError(Exception):
    """An API error: HTTP ``status`` and Supercycle-style ``errors`` messages."""

    def __init__(self, status: int, *messages: str) -> None:
        super().__init__("; ".join(messages))
        self.status = status
        self.messages = list(messages)


@dataclass
class VariantRecord:
    shopify_id: int
    shopify_product_id: int
    product_title: str
    title: str
    sku: str


@dataclass
class ConditionRecord:
    id: int
    title: str
    # Supercycle's severity keys/tones are not documented; these are placeholders.
    severity_key: str
    severity_tone: str
    created_at: datetime


@dataclass
class ItemRecord:
    id: int
    sequential_id: int
    serial: str | None
    shopify_variant_id: int
    visibility: str
    status: str
    condition_id: int | None
    location_shopify_id: int | None
    pick_location: str | None
    created_at: datetime
    updated_at: datetime
    active_return_id: int | None = None
    tags: list[str] = field(default_factory=list)


@dataclass
class CustomerRecord:
    id: int
    shopify_id: int
    email: str
    first_name: str
    last_name: str
    created_at: datetime


@dataclass
class RentalRecord:
    id: int
    sequential_id: int
    customer_id: int
    item_id: int
    shopify_order_id: int
    shopify_order_name: str
    shopify_order_line_id: int
    method_type: str
    status: str
    rental_start: datetime | None
    rental_end: datetime | None
    created_at: datetime
    updated_at: datetime
    fulfillment_status: str = "pending"
    receival_status: str = "pending"
    packing_status: str = "pending"
    fulfill_at: datetime | None = None
    fulfilled_at: datetime | None = None
    minimum_rental_end: datetime | None = None
    receive_at: datetime | None = None
    received_at: datetime | None = None
    restock_by: datetime | None = None
    restocked_at: datetime | None = None
    return_order_id: int | None = None
    tags: list[dict[str, Any]] = field(default_factory=list)

    def reservation(self) -> DateRange | None:
        """The calendar days this rental holds its item, or None if it holds nothing."""
        if self.status in CLOSED_RENTAL_STATUSES:
            return None
        return DateRange(
            self.rental_start.date() if self.rental_start else None,
            self.rental_end.date() if self.rental_end else None,
        )


@dataclass
class ReturnLineRecord:
    id: int
    rental_id: int
    item_id: int
    status: str
    created_at: datetime
    requested_at: datetime | None
    condition_id: int | None = None
    restocked_at: datetime | None = None


@dataclass
class ReturnOrderRecord:
    id: int
    sequential_id: int
    customer_id: int
    status: str
    lines: list[ReturnLineRecord]
    created_at: datetime
    updated_at: datetime
    requested_at: datetime | None
    receival_status: str = "unreceived"
    credit_status: str = "uncredited"
    return_method: dict[str, Any] | None = None
    tags: list[str] = field(default_factory=list)


@dataclass
class BlockedDateRecord:
    id: int
    resource_type: str
    #: Item id for items; the *Shopify* id for variants and products (the emulator has no
    #: Supercycle-internal variant/product ids; the real meaning is not documented).
    resource_id: int
    first: date | None
    last: date | None
    description: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def days(self) -> DateRange:
        return DateRange(self.first, self.last)
