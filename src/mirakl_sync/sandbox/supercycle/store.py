"""Where one emulated Supercycle shop keeps its records: the clock, ids, look-ups that answer
404/422, and the input checks every rule uses (the base of the rule mixins)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from typing import Any

from mirakl_sync.sandbox.supercycle.records import (
    BlockedDateRecord,
    ConditionRecord,
    CustomerRecord,
    EmulatorError,
    ItemRecord,
    RentalRecord,
    ReturnLineRecord,
    ReturnOrderRecord,
    VariantRecord,
)


class StateStore:
    """The records of one shop, with ids, look-ups and input checks."""

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

    def variant(self, shopify_variant_id: int) -> VariantRecord:
        try:
            return self.variants[shopify_variant_id]
        except KeyError:
            raise EmulatorError(
                422,
                f"Variant {shopify_variant_id} does not belong to a product imported into "
                "Supercycle",
            ) from None

    def _touch(self, *records: ItemRecord | RentalRecord | ReturnOrderRecord) -> None:
        now = self.now()
        for record in records:
            record.updated_at = now

    # --- validation ---------------------------------------------------------------------

    @staticmethod
    def _check_choice(name: str, value: Any, choices: Iterable[str]) -> None:
        allowed = [str(c) for c in choices]
        if value not in allowed:
            raise EmulatorError(422, f"{name} must be one of {', '.join(allowed)}; got {value!r}")

    def _check_condition(self, condition_id: Any) -> None:
        if condition_id is not None and condition_id not in self.conditions:
            raise EmulatorError(422, f"Condition {condition_id} does not exist")


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
