"""Pydantic models of the Supercycle Admin API (``/api/v1``) responses and request bodies.

Field names follow docs.supercycle.com/api-reference/admin (camelCase on the wire,
snake_case here). Unknown fields are ignored and every enumerated value is kept as a
plain ``str``, so a value Supercycle adds later does not break parsing; the ``StrEnum``
classes below name the values documented today, for comparison only.

Fields marked *(undocumented)* are not in the published reference but are served by the
emulator; the real API may omit them, hence they are optional.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from mirakl_sync.domain.item_availability import (
    BlockedRange,
    BlockScope,
    DateRange,
    ItemFacts,
)


class Visibility(StrEnum):
    AVAILABLE = "available"
    UNAVAILABLE = "unavailable"
    SOLD = "sold"
    RETIRED = "retired"


class ItemStatus(StrEnum):
    """Processing status: ``processed`` is Ready, ``unprocessed`` is Not ready."""

    PROCESSED = "processed"
    UNPROCESSED = "unprocessed"


class RentalStatus(StrEnum):
    SCHEDULED = "scheduled"
    UNFULFILLED = "unfulfilled"
    FULFILLED = "fulfilled"
    UNRECEIVED = "unreceived"
    RECEIVED = "received"
    CANCELLED = "cancelled"


class MethodType(StrEnum):
    CALENDAR = "calendar"
    SUBSCRIPTION = "subscription"
    MEMBERSHIP = "membership"
    RESALE = "resale"


class ReturnStatus(StrEnum):
    REQUESTED = "requested"
    EXPECTED = "expected"
    RECEIVED = "received"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class ReturnLineStatus(StrEnum):
    AWAITING = "awaiting"
    RECEIVED = "received"
    MISSING = "missing"


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="ignore", alias_generator=to_camel, populate_by_name=True, frozen=True
    )


class Condition(_Model):
    id: int
    title: str | None = None
    severity_key: str | None = None
    severity_tone: str | None = None
    created_at: datetime | None = None


class Location(_Model):
    shopify_id: int | None = None
    name: str | None = None


class Item(_Model):
    """One physical, serialised unit."""

    id: int
    created_at: datetime | None = None
    #: *(undocumented)* for items; see :meth:`SupercycleClient.iter_items`.
    updated_at: datetime | None = None
    sequential_id: int | None = None
    serial: str | None = None
    shopify_product_id: int | None = None
    shopify_variant_id: int | None = None
    product_title: str | None = None
    variant_title: str | None = None
    tags: list[str] = Field(default_factory=list)
    image_url: str | None = None
    visibility: str
    status: str
    condition_id: int | None = None
    condition: Condition | None = None
    location: Location | None = None
    pick_location: str | None = None
    active_rental_id: int | None = None
    active_return_id: int | None = None

    def facts(self) -> ItemFacts:
        """The item as the availability rule sees it."""
        return ItemFacts(
            item_id=self.id,
            shopify_variant_id=self.shopify_variant_id,
            shopify_product_id=self.shopify_product_id,
            visibility=self.visibility,
            status=self.status,
            has_active_rental=self.active_rental_id is not None,
        )


class Address(_Model):
    first_name: str | None = None
    last_name: str | None = None
    address1: str | None = None
    city: str | None = None
    zip: str | None = None
    country_code: str | None = None


class Customer(_Model):
    id: int
    shopify_id: int | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    default_address: Address | None = None


class Rental(_Model):
    """A cycle: one Supercycle-managed unit on one Shopify order line."""

    id: int
    created_at: datetime | None = None
    updated_at: datetime | None = None
    sequential_id: int | None = None
    customer: Customer | None = None
    item_id: int | None = None
    item: Item | None = None
    shopify_order_id: int | None = None
    shopify_order_name: str | None = None
    shopify_order_line_id: int | None = None
    method_type: str | None = None
    status: str | None = None
    fulfillment_status: str | None = None
    receival_status: str | None = None
    packing_status: str | None = None
    fulfill_at: datetime | None = None
    fulfilled_at: datetime | None = None
    rental_start: datetime | None = None
    rental_end: datetime | None = None
    minimum_rental_end: datetime | None = None
    receive_at: datetime | None = None
    received_at: datetime | None = None
    restock_by: datetime | None = None
    restocked_at: datetime | None = None
    return_order_id: int | None = None
    origin_rental_intent_token: str | None = None
    #: The tag shape is not documented beyond ``tagsAttributes[{id,title,_destroy}]``.
    tags: list[Any] = Field(default_factory=list)


class ReturnLine(_Model):
    id: int
    created_at: datetime | None = None
    rental_id: int | None = None
    status: str
    condition: Condition | None = None
    item: Item | None = None
    requested_at: datetime | None = None
    restocked_at: datetime | None = None


class ReturnOrder(_Model):
    id: int
    created_at: datetime | None = None
    #: *(undocumented)* for return orders.
    updated_at: datetime | None = None
    sequential_id: int | None = None
    status: str
    receival_status: str | None = None
    credit_status: str | None = None
    customer: Customer | None = None
    return_lines: list[ReturnLine] = Field(default_factory=list)
    requested_at: datetime | None = None
    #: ``ReturnMethod::Collection {trackingUrl, addressShopifyId, collectionDate}`` or a label.
    return_method: dict[str, Any] | None = None
    tags: list[str] = Field(default_factory=list)


class CreatedReturnOrders(_Model):
    """``POST /return_orders`` answers with both the orders made and per-line errors."""

    errors: list[str] = Field(default_factory=list)
    return_orders: list[ReturnOrder] = Field(default_factory=list)


class AvailabilityTimeline(_Model):
    """``GET /availability_timelines``: per-day count of available items of one variant."""

    occupancy: dict[date, int]
    inventory_count: int
    future_availability_inventory_count: int
    # Spelling as published ("uncommited").
    uncommited_inventory_count: int


class BlockedResource(_Model):
    id: int | None = None
    title: str | None = None
    formatted_id: str | None = None
    image_url: str | None = None
    shopify_variant_id: int | None = None
    shopify_product_id: int | None = None


class BlockedDate(_Model):
    id: int
    resource_type: str
    resource_id: int
    from_: date | None = Field(default=None, alias="from")
    to: date | None = None
    description: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    resource: BlockedResource | None = None

    def blocked_range(self) -> BlockedRange | None:
        """The block in the availability rule's terms; None for an unknown resource type.

        ``resourceId`` is documented as "Numeric ID of the blocked resource in Supercycle",
        which for variants and products may be Supercycle's own id, so the Shopify ids of
        ``resource`` are preferred when present.
        """
        days = DateRange(self.from_, self.to)
        if self.resource_type == BlockScope.ITEM:
            return BlockedRange(BlockScope.ITEM, self.resource_id, days)
        if self.resource_type == BlockScope.VARIANT:
            target = (self.resource and self.resource.shopify_variant_id) or self.resource_id
            return BlockedRange(BlockScope.VARIANT, target, days)
        if self.resource_type == BlockScope.PRODUCT:
            target = (self.resource and self.resource.shopify_product_id) or self.resource_id
            return BlockedRange(BlockScope.PRODUCT, target, days)
        return None


T = TypeVar("T", bound=BaseModel)


class Page(_Model, Generic[T]):
    """One page of a list endpoint: ``{data, nextPage}``."""

    data: list[T]
    next_page: str | None = None


# --- request bodies -------------------------------------------------------------------


class ReturnRequestLine(_Model):
    """One line of ``POST /return_orders`` ``data``: the rental returned, optional status."""

    rental_id: int
    status: str | None = None


class ReturnLineUpdate(_Model):
    """One line of ``PUT /return_orders/{id}``.

    ``condition_id`` is *(undocumented)*: the docs say line "conditions can be specified"
    without naming the field; the emulator accepts ``conditionId``.
    """

    id: int
    status: str | None = None
    condition_id: int | None = None


class TimeFilter(_Model):
    """A ``created`` / ``updated`` filter: ISO 8601 bounds combined with AND.

    Sent as ``updated[gte]=2025-01-01T00:00:00Z``. The reference documents the filter as an
    object with ``gt, lt, gte, lte`` operators but not its query serialisation; the bracket
    form is the Rails convention the rest of the API follows (``tagsAttributes``,
    ``_destroy``), so it is our best reading, not a confirmed fact.
    """

    gt: datetime | None = None
    gte: datetime | None = None
    lt: datetime | None = None
    lte: datetime | None = None

    def to_params(self, name: str) -> dict[str, str]:
        params: dict[str, str] = {}
        for op in ("gt", "gte", "lt", "lte"):
            value: datetime | None = getattr(self, op)
            if value is not None:
                params[f"{name}[{op}]"] = value.isoformat().replace("+00:00", "Z")
        return params
