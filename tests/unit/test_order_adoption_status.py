"""The hub status an order from before the hub takes when it is linked to its shop order."""

from __future__ import annotations

import pytest

from mirakl_sync.domain.orders import HubStatus
from mirakl_sync.services.order_adoption import adopted_status


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("WAITING_DEBIT", HubStatus.ACCEPTED),
        ("WAITING_DEBIT_PAYMENT", HubStatus.ACCEPTED),
        ("SHIPPING", HubStatus.SHIPPING),
        ("TO_COLLECT", HubStatus.CLOSED),
        ("SHIPPED", HubStatus.CLOSED),
        ("RECEIVED", HubStatus.CLOSED),
        ("CLOSED", HubStatus.CLOSED),
        # Not past acceptance: the order flow decides it.
        ("WAITING_ACCEPTANCE", HubStatus.NEW),
        ("STAGING", HubStatus.NEW),
    ],
)
def test_an_undecided_order_follows_the_marketplace_state(state: str, expected: HubStatus) -> None:
    assert adopted_status(HubStatus.NEW, state) is expected


def test_the_status_never_moves_back_and_a_refused_order_stays_refused() -> None:
    assert adopted_status(HubStatus.CLOSED, "SHIPPING") is HubStatus.CLOSED
    assert adopted_status(HubStatus.SHIPPING, "WAITING_DEBIT") is HubStatus.SHIPPING
    assert adopted_status(HubStatus.ACCEPTED, "SHIPPING") is HubStatus.SHIPPING
    assert adopted_status(HubStatus.REFUSED, "SHIPPED") is HubStatus.REFUSED
    assert adopted_status(HubStatus.CANCELLED, "CLOSED") is HubStatus.CANCELLED
