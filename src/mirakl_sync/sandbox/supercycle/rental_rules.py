"""Rental rules: booking an item for a customer (only if it is bookable for the dates),
fulfilling a rental, and updating one (moving it to another item, packing, dates, tags)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from mirakl_sync.adapters.supercycle.models import MethodType, RentalStatus
from mirakl_sync.domain.item_availability import DateRange
from mirakl_sync.sandbox.supercycle.availability_rules import AvailabilityRules
from mirakl_sync.sandbox.supercycle.records import (
    EmulatorError,
    ItemRecord,
    RentalRecord,
    ReturnOrderRecord,
)
from mirakl_sync.sandbox.supercycle.store import _as_datetime, _as_int


class RentalRules(AvailabilityRules):
    """Rentals: create, fulfil, update."""

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
