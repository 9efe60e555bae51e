"""``SupercycleEmulator``: the one Supercycle fake, shared by tests and the sandbox."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time
from typing import Any

from starlette.applications import Starlette

from mirakl_sync.adapters.supercycle.models import (
    ItemStatus,
    MethodType,
    RentalStatus,
    Visibility,
)
from mirakl_sync.domain.item_availability import BlockScope
from mirakl_sync.sandbox.seed import SeedCatalogue
from mirakl_sync.sandbox.supercycle.app import build_app
from mirakl_sync.sandbox.supercycle.limits import SlidingWindowLimit
from mirakl_sync.sandbox.supercycle.records import (
    BlockedDateRecord,
    ConditionRecord,
    CustomerRecord,
    ItemRecord,
    RentalRecord,
    ReturnLineRecord,
    ReturnOrderRecord,
    VariantRecord,
)
from mirakl_sync.sandbox.supercycle.state import SupercycleState

#: Placeholder severity keys/tones for the default conditions (not documented).
_SEVERITY = {1: ("none", "success"), 2: ("low", "info"), 3: ("medium", "warning")}

_CUSTOMERS = (
    ("ingrid.dahl@example.com", "Ingrid", "Dahl"),
    ("tom.hartley@example.com", "Tom", "Hartley"),
    ("amara.okafor@example.com", "Amara", "Okafor"),
)


class SupercycleEmulator:
    """An in-memory Supercycle shop with its Admin API as an ASGI app.

    - ``clock``: seconds since the epoch; drives ``createdAt``/``updatedAt``, "today" and
      the rate-limit windows, so tests move time instead of sleeping.
    - ``rate_limit_per_minute`` / ``timelines_per_minute``: requests per key per 60 s
      (None lifts a limit).
    """

    def __init__(
        self,
        api_key: str = "sandbox-supercycle-key",
        clock: Callable[[], float] = time.time,
        rate_limit_per_minute: int | None = 120,
        timelines_per_minute: int | None = 10,
    ) -> None:
        self.api_key = api_key
        self.clock = clock
        self.state = SupercycleState(clock)
        self.request_limit = SlidingWindowLimit(rate_limit_per_minute, clock)
        self.timelines_limit = SlidingWindowLimit(timelines_per_minute, clock)

    def asgi_app(self) -> Starlette:
        """A new ASGI app serving ``/api/v1/...`` over this emulator's state."""
        return build_app(self)

    # --- seeding ------------------------------------------------------------------------

    def load_catalogue(self, catalogue: SeedCatalogue) -> None:
        """Import the Supercycle-managed products and their items, then seed a few
        rentals, returns and blocked dates relative to the clock's today (deterministic)."""
        state = self.state
        now = state.now()
        state.locations.update(dict(catalogue.locations))
        for condition_id, title in catalogue.conditions:
            key, tone = _SEVERITY.get(condition_id, ("high", "critical"))
            state.conditions[condition_id] = ConditionRecord(condition_id, title, key, tone, now)
        for product in catalogue.products:
            if not product.managed_by_supercycle:
                continue
            state.import_product(product.id, product.title)
            for variant in product.variants:
                state.add_variant(
                    VariantRecord(
                        shopify_id=variant.id,
                        shopify_product_id=product.id,
                        product_title=product.title,
                        title=f"{variant.size} / {variant.colour}",
                        sku=variant.sku,
                    )
                )
        for seed_item in catalogue.items:
            state.add_item(
                item_id=seed_item.id,
                sequential_id=seed_item.sequential_id,
                shopify_variant_id=seed_item.variant_id,
                visibility=seed_item.visibility,
                status=seed_item.status,
                serial=seed_item.serial,
                condition_id=seed_item.condition_id,
                location_shopify_id=seed_item.location_id,
                pick_location=seed_item.pick_location,
            )
        for n, (email, first, last) in enumerate(_CUSTOMERS, start=1):
            state.customers[n] = CustomerRecord(n, 7_100_000_000 + n, email, first, last, now)
        rental_products = {p.id for p in catalogue.products if p.channel == "rental"}
        self._seed_cycles(
            [
                i
                for i in sorted(state.items.values(), key=lambda i: i.id)
                if state.variants[i.shopify_variant_id].shopify_product_id in rental_products
                and i.visibility == Visibility.AVAILABLE
                and i.status == ItemStatus.PROCESSED
            ]
        )
        resale_products = [p for p in catalogue.products if p.channel == "resale"]
        self._seed_blocked_dates(
            [
                i
                for i in sorted(state.items.values(), key=lambda i: i.id)
                if state.variants[i.shopify_variant_id].shopify_product_id
                in {p.id for p in resale_products}
                and i.visibility == Visibility.AVAILABLE
            ],
            resale_products,
        )

    def _seed_cycles(self, rental_items: list[ItemRecord]) -> None:
        """Rentals in every useful state, on the first rental items (as many as exist)."""
        today = self.state.today()
        plans: list[tuple[str, str, int, int | None, int]] = [
            # (kind, method, start offset, end offset or open, customer)
            ("out", MethodType.CALENDAR, -3, 4, 1),
            ("out", MethodType.MEMBERSHIP, -20, None, 2),
            ("future", MethodType.CALENDAR, 10, 14, 3),
            ("returning", MethodType.CALENDAR, -10, -1, 1),
            ("received", MethodType.CALENDAR, -15, -5, 2),
        ]
        for item, (kind, method, start, end, customer) in zip(rental_items, plans, strict=False):
            rental = self.create_rental(
                item.id,
                customer_id=customer,
                first=today + timedelta(days=start),
                last=today + timedelta(days=end) if end is not None else None,
                method_type=method,
            )
            if kind == "future":
                continue
            self.fulfil_rental(rental.id)
            if kind == "returning":
                self.create_return([rental.id])
            elif kind == "received":
                order = self.create_return([rental.id])
                self.receive_return_line(order.lines[0].id, condition_id=3)

    def _seed_blocked_dates(self, resale_items: list[ItemRecord], products: list[Any]) -> None:
        today = self.state.today()
        if resale_items:
            self.block(
                BlockScope.ITEM,
                resale_items[0].id,
                today - timedelta(days=1),
                today + timedelta(days=2),
                "Photoshoot",
            )
        if len(resale_items) > 1:
            variant_id = resale_items[1].shopify_variant_id
            self.block(BlockScope.VARIANT, variant_id, today + timedelta(days=30), None, "Recall")
        if products:
            self.block(
                BlockScope.PRODUCT, products[0].id, None, today - timedelta(days=1), "Stocktake"
            )

    # --- test hooks (what Supercycle staff or customers would do) ------------------------

    def create_rental(
        self,
        item_id: int,
        *,
        customer_id: int = 1,
        first: date | None = None,
        last: date | None = None,
        method_type: str = MethodType.CALENDAR,
        shopify_order_id: int | None = None,
    ) -> RentalRecord:
        """Book ``item_id`` from ``first`` (default today) to ``last`` (None: open-ended)."""
        start = first or self.state.today()
        return self.state.create_rental(
            item_id=item_id,
            customer_id=customer_id,
            rental_start=_at_midnight(start),
            rental_end=_at_midnight(last) if last else None,
            method_type=method_type,
            status=RentalStatus.SCHEDULED,
            shopify_order_id=shopify_order_id,
        )

    def fulfil_rental(self, rental_id: int) -> RentalRecord:
        return self.state.fulfil_rental(rental_id)

    def create_return(self, rental_ids: Iterable[int]) -> ReturnOrderRecord:
        orders, problems = self.state.create_return(list(rental_ids))
        if problems or len(orders) != 1:
            raise ValueError(f"could not create one return order: {problems or orders}")
        return orders[0]

    def receive_return_line(
        self, line_id: int, condition_id: int | None = None
    ) -> ReturnLineRecord:
        return self.state.receive_return_line(line_id, condition_id)

    def restock_item(self, item_id: int) -> ItemRecord:
        return self.state.restock_item(item_id)

    def block(
        self,
        scope: BlockScope,
        resource_id: int,
        first: date | None,
        last: date | None,
        description: str | None = None,
    ) -> BlockedDateRecord:
        return self.state.create_blocked_date(scope.value, resource_id, first, last, description)

    def reset_rate_limits(self) -> None:
        self.request_limit.reset()
        self.timelines_limit.reset()


def _at_midnight(day: date) -> datetime:
    return datetime.combine(day, day_time(0, 0), tzinfo=UTC)
