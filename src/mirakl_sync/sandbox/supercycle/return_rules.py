"""Return rules: return orders for rentals or serials (one per customer), their line
statuses, receiving a line (its condition copied onto the item, which becomes Not ready)
and restocking the item (Ready again), with the return order's status following its lines."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mirakl_sync.adapters.supercycle.models import (
    ItemStatus,
    RentalStatus,
    ReturnLineStatus,
    ReturnStatus,
)
from mirakl_sync.sandbox.supercycle.availability_rules import AvailabilityRules
from mirakl_sync.sandbox.supercycle.records import (
    CLOSED_RENTAL_STATUSES,
    EmulatorError,
    ItemRecord,
    RentalRecord,
    ReturnLineRecord,
    ReturnOrderRecord,
)


class ReturnRules(AvailabilityRules):
    """Return orders, their lines, receiving and restocking."""

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
