"""Supercycle's rules as the emulator enforces them (state level, no HTTP)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mirakl_sync.domain.item_availability import BlockScope
from mirakl_sync.sandbox.seed import build_catalogue
from mirakl_sync.sandbox.supercycle import SupercycleEmulator
from mirakl_sync.sandbox.supercycle.records import EmulatorError

START = 1_750_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def emulator(clock: Clock) -> SupercycleEmulator:
    emulator = SupercycleEmulator(clock=clock)
    emulator.load_catalogue(build_catalogue(products=60))
    return emulator


def free_item(emulator: SupercycleEmulator) -> int:
    state = emulator.state
    return next(
        i.id
        for i in sorted(state.items.values(), key=lambda i: i.id)
        if i.visibility == "available"
        and not state.blocks_on(i)
        and not any(r.item_id == i.id for r in state.rentals.values())
    )


def test_only_supercycle_products_are_imported(emulator: SupercycleEmulator) -> None:
    catalogue = build_catalogue(products=60)
    managed = {p.id for p in catalogue.products if p.managed_by_supercycle}
    assert set(emulator.state.products) == managed
    new_variant = next(
        v.id for p in catalogue.products if not p.managed_by_supercycle for v in p.variants
    )
    with pytest.raises(EmulatorError) as raised:
        emulator.state.add_item(shopify_variant_id=new_variant)
    assert raised.value.status == 422


def test_seeding_is_deterministic(clock: Clock) -> None:
    def snapshot() -> list[tuple[object, ...]]:
        emulator = SupercycleEmulator(clock=clock)
        emulator.load_catalogue(build_catalogue(products=60))
        state = emulator.state
        return [
            *((r.id, r.item_id, r.status) for r in state.rentals.values()),
            *((o.id, o.status) for o in state.returns.values()),
            *(
                (b.id, b.resource_type, b.resource_id, b.first, b.last)
                for b in state.blocked_dates.values()
            ),
        ]

    first = snapshot()
    assert first == snapshot()
    statuses = {entry[2] for entry in first if len(entry) == 3}
    assert {"fulfilled", "scheduled", "unreceived", "received"} <= statuses


def test_reservations_and_blocks_decide_bookability(emulator: SupercycleEmulator) -> None:
    state = emulator.state
    today = state.today()
    item_id = free_item(emulator)
    day = timedelta(days=1)
    assert state.is_bookable(item_id, today, today + 3 * day)

    emulator.create_rental(item_id, first=today + 5 * day, last=today + 7 * day)
    assert state.is_bookable(item_id, today, today + 4 * day)
    assert not state.is_bookable(item_id, today + 7 * day, today + 9 * day)  # inclusive end
    assert not state.is_bookable(item_id, today, None)  # open-ended ask overlaps
    with pytest.raises(EmulatorError):  # double booking is refused
        emulator.create_rental(item_id, first=today + 6 * day, last=today + 6 * day)

    variant = state.items[item_id].shopify_variant_id
    emulator.block(BlockScope.VARIANT, variant, today + 20 * day, None)
    assert not state.is_bookable(item_id, today + 100 * day, today + 101 * day)
    assert state.is_bookable(item_id, today + 10 * day, today + 19 * day)


def test_condition_and_processing_status_never_change_bookability(
    emulator: SupercycleEmulator,
) -> None:
    state = emulator.state
    today = state.today()
    item_id = free_item(emulator)
    state.update_item(item_id, {"status": "unprocessed", "conditionId": 4})
    assert state.is_bookable(item_id, today, today)
    state.update_item(item_id, {"visibility": "unavailable"})
    assert not state.is_bookable(item_id, today, today)


def test_every_mutation_bumps_updated_at(emulator: SupercycleEmulator, clock: Clock) -> None:
    state = emulator.state
    item_id = free_item(emulator)
    item = state.items[item_id]

    stamps = [item.updated_at]
    for step in (
        lambda: state.update_item(item_id, {"pickLocation": "C1-01-A1"}),
        lambda: emulator.create_rental(item_id),
        lambda: emulator.fulfil_rental(max(state.rentals)),
        lambda: emulator.create_return([max(state.rentals)]),
        lambda: emulator.receive_return_line(state.returns[max(state.returns)].lines[0].id, 2),
        lambda: emulator.restock_item(item_id),
    ):
        clock.now += 1
        step()
        stamps.append(item.updated_at)
    assert stamps == sorted(set(stamps)), "each step must move updatedAt forward"


def test_receiving_copies_condition_and_restock_makes_ready(emulator: SupercycleEmulator) -> None:
    state = emulator.state
    item_id = free_item(emulator)
    rental = emulator.create_rental(item_id)
    emulator.fulfil_rental(rental.id)
    assert state.active_rental(item_id) is rental
    order = emulator.create_return([rental.id])
    line = order.lines[0]
    emulator.receive_return_line(line.id, condition_id=3)
    item = state.items[item_id]
    assert (item.status, item.condition_id, item.visibility) == ("unprocessed", 3, "available")
    assert state.active_rental(item_id) is None
    assert order.status == "received"
    emulator.restock_item(item_id)
    assert item.status == "processed" and order.status == "completed"
