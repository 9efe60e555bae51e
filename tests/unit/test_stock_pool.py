"""Holding stock: granted only when the whole quantity is free after everyone else's holds."""

from __future__ import annotations

import pytest

from mirakl_sync.domain.stock_pool import decide_hold


@pytest.mark.parametrize(
    ("source", "held", "requested", "granted", "free"),
    [
        (1, 0, 1, True, 1),  # a unique item, nobody else holds it
        (1, 1, 1, False, 0),  # the unique item is held for another marketplace's order
        (5, 3, 2, True, 2),  # exactly what is left
        (5, 3, 3, False, 2),  # one short: refuse the line rather than oversell
        (0, 0, 1, False, 0),  # sold out at the source
        (2, 4, 1, False, 0),  # source dropped below the holds (web store sale): nothing free
    ],
)
def test_decide_hold(source: int, held: int, requested: int, granted: bool, free: int) -> None:
    decision = decide_hold(source_available=source, held_by_others=held, requested=requested)
    assert (decision.granted, decision.free) == (granted, free)


def test_a_hold_needs_a_positive_quantity() -> None:
    with pytest.raises(ValueError):
        decide_hold(source_available=3, held_by_others=0, requested=0)
