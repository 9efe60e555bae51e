"""The emulator's records and the Supercycle rules that change them.

Rules (docs.supercycle.com, see the reference notes A3/A7):

- items exist only for variants of *imported* products;
- an item is bookable only when ``visibility == available`` and no reservation
  (rental period) or blocked date overlaps the dates asked for; condition and processing
  status never change availability;
- receiving a return line copies the line's condition onto the item and marks it
  ``unprocessed`` (Not ready); restocking marks it ``processed`` again;
- selling is ``visibility = sold``;
- every mutation bumps ``updated_at`` of what it touched.

Inferred, not documented (kept simple and said so): logistics buffers are not modelled
(a reservation is exactly ``rentalStart``..``rentalEnd`` by calendar day); a rental is
*active* (the item's ``activeRentalId``) from the day it starts, or as soon as it is
unfulfilled/fulfilled/unreceived, until it is received or cancelled; a return order goes
``requested`` -> ``in_progress`` (some lines in) -> ``received`` (all in) ->
``completed`` (all restocked).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from mirakl_sync.adapters.supercycle.models import (
    ItemStatus,
    MethodType,
    RentalStatus,
    ReturnLineStatus,
    ReturnStatus,
    Visibility,
)
from mirakl_sync.domain.item_availability import BlockScope, DateRange

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


class SupercycleState:
    """Everything one emulated Supercycle shop knows, and the rules that change it."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self.products: dict[int, str] = {}
        self.variants: dict[int, VariantRecord] = {}
        self.locations: dict[int, str] = {}
        self.conditions: dict[int, ConditionRecord] = {}
        self.items: dict[int, ItemRecord] = {}
        self.customers: dict[int, CustomerRecord] = {}
        self.rentals: dict[int, RentalRecord] = {}
        self.returns: dict[int, ReturnOrderRecord] = {}
        self.blocked_dates: dict[int, BlockedDateRecord] = {}
        self._next_id: dict[str, int] = {}

    # --- basics -------------------------------------------------------------------------

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def today(self) -> date:
        # The store's timezone is not modelled: UTC days.
        return self.now().date()

    def new_id(self, kind: str, start: int) -> int:
        value = self._next_id.get(kind, start)
        self._next_id[kind] = value + 1
        return value

    def item(self, item_id: int) -> ItemRecord:
        try:
            return self.items[item_id]
        except KeyError:
            raise EmulatorError(404, f"Item {item_id} not found") from None

    def rental(self, rental_id: int) -> RentalRecord:
        try:
            return self.rentals[rental_id]
        except KeyError:
            raise EmulatorError(404, f"Rental {rental_id} not found") from None

    def return_order(self, return_id: int) -> ReturnOrderRecord:
        try:
            return self.returns[return_id]
        except KeyError:
            raise EmulatorError(404, f"Return order {return_id} not found") from None

    def return_line(self, line_id: int) -> tuple[ReturnOrderRecord, ReturnLineRecord]:
        for order in self.returns.values():
            for line in order.lines:
                if line.id == line_id:
                    return order, line
        raise EmulatorError(404, f"Return line {line_id} not found")

    def blocked_date(self, blocked_id: int) -> BlockedDateRecord:
        try:
            return self.blocked_dates[blocked_id]
        except KeyError:
            raise EmulatorError(404, f"Blocked date {blocked_id} not found") from None

    def _touch(self, *records: ItemRecord | RentalRecord | ReturnOrderRecord) -> None:
        now = self.now()
        for record in records:
            record.updated_at = now

    # --- catalogue ----------------------------------------------------------------------

    def import_product(self, shopify_product_id: int, title: str) -> None:
        self.products[shopify_product_id] = title

    def add_variant(self, variant: VariantRecord) -> None:
        if variant.shopify_product_id not in self.products:
            raise EmulatorError(
                422, f"Product {variant.shopify_product_id} has not been imported into Supercycle"
            )
        self.variants[variant.shopify_id] = variant

    def variant(self, shopify_variant_id: int) -> VariantRecord:
        try:
            return self.variants[shopify_variant_id]
        except KeyError:
            raise EmulatorError(
                422,
                f"Variant {shopify_variant_id} does not belong to a product imported into "
                "Supercycle",
            ) from None

    def add_item(
        self,
        *,
        shopify_variant_id: int,
        visibility: str = Visibility.AVAILABLE,
        status: str = ItemStatus.PROCESSED,
        serial: str | None = None,
        condition_id: int | None = None,
        location_shopify_id: int | None = None,
        pick_location: str | None = None,
        item_id: int | None = None,
        sequential_id: int | None = None,
    ) -> ItemRecord:
        self.variant(shopify_variant_id)  # items only for imported variants
        self._check_choice("visibility", visibility, Visibility)
        self._check_choice("status", status, ItemStatus)
        self._check_condition(condition_id)
        if serial is not None and any(i.serial == serial for i in self.items.values()):
            raise EmulatorError(422, f"Serial {serial} is already taken")
        new_id = item_id if item_id is not None else self.new_id("item", 900_001)
        now = self.now()
        record = ItemRecord(
            id=new_id,
            sequential_id=sequential_id or self.new_id("item_seq", 50_001),
            serial=serial,
            shopify_variant_id=shopify_variant_id,
            visibility=visibility,
            status=status,
            condition_id=condition_id,
            location_shopify_id=location_shopify_id,
            pick_location=pick_location,
            created_at=now,
            updated_at=now,
        )
        self.items[new_id] = record
        return record

    # --- items --------------------------------------------------------------------------

    def active_rental(self, item_id: int) -> RentalRecord | None:
        """The rental holding the item today, if any (see module docstring)."""
        today = self.today()
        for rental in self.rentals.values():
            if rental.item_id != item_id or rental.status in CLOSED_RENTAL_STATUSES:
                continue
            if rental.status in ACTIVE_RENTAL_STATUSES:
                return rental
            if rental.rental_start is None or rental.rental_start.date() <= today:
                return rental
        return None

    def blocks_on(self, item: ItemRecord) -> list[BlockedDateRecord]:
        variant = self.variants[item.shopify_variant_id]
        targets = {
            (BlockScope.ITEM.value, item.id),
            (BlockScope.VARIANT.value, variant.shopify_id),
            (BlockScope.PRODUCT.value, variant.shopify_product_id),
        }
        return [
            b for b in self.blocked_dates.values() if (b.resource_type, b.resource_id) in targets
        ]

    def is_bookable(self, item_id: int, first: date, last: date | None) -> bool:
        """Available, and no reservation or blocked date overlaps ``first``..``last``."""
        item = self.item(item_id)
        if item.visibility != Visibility.AVAILABLE:
            return False
        wanted = DateRange(first, last)
        holds = [r.reservation() for r in self.rentals.values() if r.item_id == item_id]
        holds += [b.days for b in self.blocks_on(item)]
        return not any(h is not None and _overlap(h, wanted) for h in holds)

    def update_item(self, item_id: int, changes: Mapping[str, Any]) -> ItemRecord:
        item = self.item(item_id)
        if "visibility" in changes:
            self._check_choice("visibility", changes["visibility"], Visibility)
        if "status" in changes:
            self._check_choice("status", changes["status"], ItemStatus)
        if "conditionId" in changes:
            self._check_condition(changes["conditionId"])
        if "shopifyVariantId" in changes:
            self.variant(_as_int("shopifyVariantId", changes["shopifyVariantId"]))
        if "serial" in changes and changes["serial"] is not None:
            serial = str(changes["serial"])
            if any(i.serial == serial and i.id != item_id for i in self.items.values()):
                raise EmulatorError(422, f"Serial {serial} is already taken")
        if "locationShopifyId" in changes and changes["locationShopifyId"] is not None:
            location = _as_int("locationShopifyId", changes["locationShopifyId"])
            if location not in self.locations:
                raise EmulatorError(422, f"Location {location} is not a location of this shop")
        if "visibility" in changes:
            item.visibility = changes["visibility"]
        if "status" in changes:
            item.status = changes["status"]
        if "conditionId" in changes:
            item.condition_id = changes["conditionId"]
        if "serial" in changes:
            item.serial = None if changes["serial"] is None else str(changes["serial"])
        if "shopifyVariantId" in changes:
            item.shopify_variant_id = _as_int("shopifyVariantId", changes["shopifyVariantId"])
        if "locationShopifyId" in changes:
            raw = changes["locationShopifyId"]
            item.location_shopify_id = None if raw is None else _as_int("locationShopifyId", raw)
        if "pickLocation" in changes:
            raw = changes["pickLocation"]
            item.pick_location = None if raw is None else str(raw)
        self._touch(item)
        return item

    # --- rentals ------------------------------------------------------------------------

    def create_rental(
        self,
        *,
        item_id: int,
        customer_id: int,
        rental_start: datetime | None,
        rental_end: datetime | None,
        method_type: str = MethodType.CALENDAR,
        status: str = RentalStatus.SCHEDULED,
        shopify_order_id: int | None = None,
    ) -> RentalRecord:
        item = self.item(item_id)
        if customer_id not in self.customers:
            raise EmulatorError(422, f"Customer {customer_id} not found")
        start = rental_start.date() if rental_start else self.today()
        if not self.is_bookable(item_id, start, rental_end.date() if rental_end else None):
            raise EmulatorError(422, f"Item {item_id} is not available for these dates")
        rental_id = self.new_id("rental", 700_001)
        sequential = self.new_id("rental_seq", 1001)
        order_id = shopify_order_id or 5_600_000_000 + sequential
        now = self.now()
        rental = RentalRecord(
            id=rental_id,
            sequential_id=sequential,
            customer_id=customer_id,
            item_id=item_id,
            shopify_order_id=order_id,
            shopify_order_name=f"#{sequential}",
            shopify_order_line_id=order_id * 10 + 1,
            method_type=method_type,
            status=status,
            rental_start=rental_start,
            rental_end=rental_end,
            fulfill_at=rental_start,
            receive_at=rental_end,
            created_at=now,
            updated_at=now,
        )
        self.rentals[rental_id] = rental
        self._touch(item)  # its activeRentalId may have changed
        return rental

    def fulfil_rental(self, rental_id: int) -> RentalRecord:
        rental = self.rental(rental_id)
        if rental.status not in (RentalStatus.SCHEDULED, RentalStatus.UNFULFILLED):
            raise EmulatorError(422, f"Rental {rental_id} is {rental.status}, not to be fulfilled")
        rental.status = RentalStatus.FULFILLED
        rental.fulfillment_status = "complete"
        rental.fulfilled_at = self.now()
        self._touch(rental, self.item(rental.item_id))
        return rental

    def update_rental(self, rental_id: int, changes: Mapping[str, Any]) -> RentalRecord:
        rental = self.rental(rental_id)
        touched: list[ItemRecord | RentalRecord | ReturnOrderRecord] = [rental]
        if "itemId" in changes:
            new_item = self.item(_as_int("itemId", changes["itemId"]))
            if new_item.id != rental.item_id:
                reservation = rental.reservation() or DateRange(self.today(), None)
                first = reservation.first or self.today()
                if not self.is_bookable(new_item.id, first, reservation.last):
                    raise EmulatorError(422, f"Item {new_item.id} is not available for this rental")
                touched += [self.item(rental.item_id), new_item]
                rental.item_id = new_item.id
        if "packingStatus" in changes:
            value = changes["packingStatus"]
            if value not in ("pending", "printed", "packed"):
                raise EmulatorError(422, f"packingStatus {value!r} is not valid")
            rental.packing_status = value
        for key, attr in (
            ("fulfillAt", "fulfill_at"),
            ("fulfilledAt", "fulfilled_at"),
            ("receiveAt", "receive_at"),
            ("receivedAt", "received_at"),
            ("minimumRentalEnd", "minimum_rental_end"),
        ):
            if key in changes:
                setattr(rental, attr, _as_datetime(key, changes[key]))
        for tag in changes.get("tagsAttributes") or []:
            if tag.get("_destroy"):
                rental.tags = [t for t in rental.tags if t.get("id") != tag.get("id")]
            else:
                rental.tags.append({"id": self.new_id("tag", 1), "title": str(tag.get("title"))})
        self._touch(*touched)
        return rental

    # --- returns ------------------------------------------------------------------------

    def create_return(
        self,
        rental_ids: Iterable[int] = (),
        *,
        serials: Iterable[str] = (),
        line_statuses: Mapping[int, str] | None = None,
        return_method: dict[str, Any] | None = None,
    ) -> tuple[list[ReturnOrderRecord], list[str]]:
        """Create return orders (one per customer) for rentals or item serials.

        Lines that cannot be returned are reported in the error list, as Supercycle does.
        """
        for wanted in (line_statuses or {}).values():
            self._check_choice("line status", wanted, ReturnLineStatus)
        errors: list[str] = []
        rentals: list[RentalRecord] = []
        for rental_id in rental_ids:
            rental = self.rentals.get(rental_id)
            if rental is None:
                errors.append(f"Rental {rental_id} not found")
            elif rental.return_order_id is not None:
                errors.append(f"Rental {rental_id} is already in return {rental.return_order_id}")
            elif rental.status in CLOSED_RENTAL_STATUSES:
                errors.append(f"Rental {rental_id} is {rental.status} and cannot be returned")
            else:
                rentals.append(rental)
        for serial in serials:
            item = next((i for i in self.items.values() if i.serial == serial), None)
            active = self.active_rental(item.id) if item else None
            if item is None:
                errors.append(f"No item with serial {serial}")
            elif active is None:
                errors.append(f"Item {serial} has no active rental to return")
            elif active.return_order_id is not None:
                errors.append(f"Item {serial} is already in return {active.return_order_id}")
            else:
                rentals.append(active)
        by_customer: dict[int, list[RentalRecord]] = {}
        for rental in rentals:
            by_customer.setdefault(rental.customer_id, []).append(rental)
        now = self.now()
        orders: list[ReturnOrderRecord] = []
        for customer_id, group in by_customer.items():
            order_id = self.new_id("return", 800_001)
            lines = []
            for rental in group:
                lines.append(
                    ReturnLineRecord(
                        id=self.new_id("return_line", 810_001),
                        rental_id=rental.id,
                        item_id=rental.item_id,
                        status=ReturnLineStatus.AWAITING,
                        created_at=now,
                        requested_at=now,
                    )
                )
                rental.return_order_id = order_id
                if rental.status == RentalStatus.FULFILLED:
                    rental.status = RentalStatus.UNRECEIVED
                item = self.item(rental.item_id)
                item.active_return_id = order_id
                self._touch(rental, item)
            order = ReturnOrderRecord(
                id=order_id,
                sequential_id=self.new_id("return_seq", 2001),
                customer_id=customer_id,
                status=ReturnStatus.REQUESTED,
                lines=lines,
                created_at=now,
                updated_at=now,
                requested_at=now,
                return_method=return_method,
            )
            self.returns[order_id] = order
            for line in lines:
                requested = (line_statuses or {}).get(line.rental_id)
                if requested and requested != ReturnLineStatus.AWAITING:
                    self._set_line_status(order, line, requested, None)
            orders.append(order)
        return orders, errors

    def update_return(self, return_id: int, changes: Mapping[str, Any]) -> ReturnOrderRecord:
        order = self.return_order(return_id)
        # Published example uses ``return_lines``; accept the camelCase spelling as well.
        lines = changes.get("return_lines", changes.get("returnLines")) or []
        for raw in lines:
            if not isinstance(raw, Mapping) or "id" not in raw:
                raise EmulatorError(400, "each return line needs an id")
            line = next((ln for ln in order.lines if ln.id == raw["id"]), None)
            if line is None:
                raise EmulatorError(404, f"Return line {raw['id']} is not in return {return_id}")
            condition = raw.get("conditionId")
            if condition is not None:
                self._check_condition(condition)
            if raw.get("status"):
                self._set_line_status(order, line, str(raw["status"]), condition)
            elif condition is not None:
                line.condition_id = condition
        if changes.get("status"):
            status = str(changes["status"])
            self._check_choice("status", status, ReturnStatus)
            order.status = status
        self._touch(order)
        return order

    def receive_return_line(
        self, line_id: int, condition_id: int | None = None
    ) -> ReturnLineRecord:
        order, line = self.return_line(line_id)
        if condition_id is not None:
            self._check_condition(condition_id)
        self._set_line_status(order, line, ReturnLineStatus.RECEIVED, condition_id)
        return line

    def _set_line_status(
        self,
        order: ReturnOrderRecord,
        line: ReturnLineRecord,
        status: str,
        condition_id: int | None,
    ) -> None:
        self._check_choice("line status", status, ReturnLineStatus)
        rental = self.rental(line.rental_id)
        item = self.item(line.item_id)
        if condition_id is not None:
            line.condition_id = condition_id
        if status == ReturnLineStatus.RECEIVED and line.status != ReturnLineStatus.RECEIVED:
            now = self.now()
            # Supercycle: the line's condition is copied onto the item, which becomes
            # Not ready until restocked. Visibility is untouched.
            if line.condition_id is not None:
                item.condition_id = line.condition_id
            item.status = ItemStatus.UNPROCESSED
            rental.status = RentalStatus.RECEIVED
            rental.receival_status = "received"
            rental.received_at = now
            self._touch(item, rental)
        line.status = status
        self._refresh_return_status(order)
        self._touch(order)

    def restock_item(self, item_id: int) -> ItemRecord:
        """Mark the item Ready (``processed``) and close its open return line, if any."""
        item = self.item(item_id)
        now = self.now()
        item.status = ItemStatus.PROCESSED
        order = self.returns.get(item.active_return_id) if item.active_return_id else None
        if order is not None:
            for line in order.lines:
                if line.item_id == item_id and line.status == ReturnLineStatus.RECEIVED:
                    line.restocked_at = now
                    rental = self.rental(line.rental_id)
                    rental.restocked_at = now
                    self._touch(rental)
            self._refresh_return_status(order)
            self._touch(order)
            item.active_return_id = None
        self._touch(item)
        return item

    def _refresh_return_status(self, order: ReturnOrderRecord) -> None:
        if order.status == ReturnStatus.CANCELLED:
            return
        settled = [ln for ln in order.lines if ln.status != ReturnLineStatus.AWAITING]
        received = [ln for ln in order.lines if ln.status == ReturnLineStatus.RECEIVED]
        if (
            received
            and all(ln.restocked_at for ln in received)
            and len(settled) == len(order.lines)
        ):
            order.status = ReturnStatus.COMPLETED
        elif settled and len(settled) == len(order.lines):
            order.status = ReturnStatus.RECEIVED
        elif settled:
            order.status = ReturnStatus.IN_PROGRESS
        order.receival_status = (
            "received" if settled and len(settled) == len(order.lines) else "unreceived"
        )

    # --- blocked dates ------------------------------------------------------------------

    def create_blocked_date(
        self,
        resource_type: str,
        resource_id: int,
        first: date | None,
        last: date | None,
        description: str | None = None,
    ) -> BlockedDateRecord:
        self._check_choice("resourceType", resource_type, BlockScope)
        if resource_type == BlockScope.ITEM:
            self.item(resource_id)
        elif resource_type == BlockScope.VARIANT:
            self.variant(resource_id)
        elif resource_id not in self.products:
            raise EmulatorError(422, f"Product {resource_id} has not been imported into Supercycle")
        if first and last and last < first:
            raise EmulatorError(422, "'to' must be on or after 'from'")
        now = self.now()
        record = BlockedDateRecord(
            id=self.new_id("blocked", 600_001),
            resource_type=resource_type,
            resource_id=resource_id,
            first=first,
            last=last,
            description=description,
            created_at=now,
            updated_at=now,
        )
        self.blocked_dates[record.id] = record
        return record

    # --- availability -------------------------------------------------------------------

    def availability_timeline(
        self, shopify_variant_id: int, *, location_id: int | None = None, days: int = 365
    ) -> dict[str, Any]:
        if shopify_variant_id not in self.variants:
            raise EmulatorError(404, f"Variant {shopify_variant_id} is not managed by Supercycle")
        items = [
            i
            for i in self.items.values()
            if i.shopify_variant_id == shopify_variant_id
            and i.visibility == Visibility.AVAILABLE
            and (location_id is None or i.location_shopify_id == location_id)
        ]
        start = self.today()
        occupancy: dict[str, int] = {}
        holds = {
            item.id: [r.reservation() for r in self.rentals.values() if r.item_id == item.id]
            + [b.days for b in self.blocks_on(item)]
            for item in items
        }
        for offset in range(days):
            day = start + timedelta(days=offset)
            free = sum(1 for item in items if not any(h and h.covers(day) for h in holds[item.id]))
            occupancy[day.isoformat()] = free
        current = {i.id: self.active_rental(i.id) for i in items}
        return {
            "occupancy": occupancy,
            "inventoryCount": len(items),
            "futureAvailabilityInventoryCount": sum(
                1 for r in current.values() if r is None or r.rental_end is not None
            ),
            "uncommitedInventoryCount": sum(1 for r in current.values() if r is None),
        }

    # --- validation ---------------------------------------------------------------------

    @staticmethod
    def _check_choice(name: str, value: Any, choices: Iterable[str]) -> None:
        allowed = [str(c) for c in choices]
        if value not in allowed:
            raise EmulatorError(422, f"{name} must be one of {', '.join(allowed)}; got {value!r}")

    def _check_condition(self, condition_id: Any) -> None:
        if condition_id is not None and condition_id not in self.conditions:
            raise EmulatorError(422, f"Condition {condition_id} does not exist")


def _overlap(a: DateRange, b: DateRange) -> bool:
    starts_before_b_ends = a.first is None or b.last is None or a.first <= b.last
    ends_after_b_starts = a.last is None or b.first is None or a.last >= b.first
    return starts_before_b_ends and ends_after_b_starts


def _as_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise EmulatorError(422, f"{name} must be an integer")
    try:
        return int(value)
    except ValueError:
        raise EmulatorError(422, f"{name} must be an integer") from None


def _as_datetime(name: str, value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise EmulatorError(422, f"{name} must be an ISO 8601 date-time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
