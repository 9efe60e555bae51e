from __future__ import annotations

import pytest

from mirakl_sync.domain.marketplace_order import (
    IllegalTransition,
    LineState,
    OrderEvent,
    OrderState,
    RefundState,
    next_line_state,
    next_refund_state,
    next_state,
    order_state_of_lines,
)

O, E, L = OrderState, OrderEvent, LineState  # noqa: E741


@pytest.mark.parametrize(
    ("state", "event", "expected"),
    [
        (O.STAGING, E.VALIDATED, O.WAITING_ACCEPTANCE),
        (O.WAITING_ACCEPTANCE, E.ACCEPTED, O.WAITING_DEBIT_PAYMENT),
        (O.WAITING_ACCEPTANCE, E.REFUSED, O.REFUSED),
        (O.WAITING_ACCEPTANCE, E.ACCEPTANCE_EXPIRED, O.REFUSED),
        (O.WAITING_DEBIT, E.DEBIT_REQUESTED, O.WAITING_DEBIT_PAYMENT),
        (O.WAITING_DEBIT_PAYMENT, E.DEBITED, O.SHIPPING),
        (O.WAITING_DEBIT_PAYMENT, E.DEBIT_FAILED, O.CANCELED),
        (O.SHIPPING, E.SHIPPED, O.SHIPPED),
        (O.SHIPPING, E.READY_FOR_PICK_UP, O.TO_COLLECT),
        (O.SHIPPING, E.CANCELED, O.CANCELED),
        (O.SHIPPED, E.RECEIVED, O.RECEIVED),
        (O.TO_COLLECT, E.RECEIVED, O.RECEIVED),
        (O.RECEIVED, E.CLOSED, O.CLOSED),
    ],
)
def test_order_transitions(state: OrderState, event: OrderEvent, expected: OrderState) -> None:
    assert next_state(state, event) == expected


@pytest.mark.parametrize(
    ("state", "event"),
    [
        (O.WAITING_ACCEPTANCE, E.SHIPPED),  # OR24 before acceptance
        (O.SHIPPED, E.SHIPPED),  # shipping twice
        (O.SHIPPED, E.CANCELED),  # too late to cancel
        (O.REFUSED, E.ACCEPTED),
        (O.CLOSED, E.RECEIVED),
        (O.CANCELED, E.DEBITED),
        (O.WAITING_ACCEPTANCE, E.CANCELED),  # refusing is OR21, not cancel
        (O.SHIPPED, E.REFUNDED),  # refunds move lines, not orders
    ],
)
def test_illegal_order_transitions(state: OrderState, event: OrderEvent) -> None:
    with pytest.raises(IllegalTransition, match=event.value):
        next_state(state, event)


@pytest.mark.parametrize(
    ("state", "event", "expected"),
    [
        (L.SHIPPED, E.REFUNDED, L.REFUNDED),
        (L.RECEIVED, E.REFUNDED, L.REFUNDED),
        (L.WAITING_ACCEPTANCE, E.REFUSED, L.REFUSED),
        (L.SHIPPING, E.SHIPPED, L.SHIPPED),
    ],
)
def test_line_transitions(state: LineState, event: OrderEvent, expected: LineState) -> None:
    assert next_line_state(state, event) == expected


@pytest.mark.parametrize("state", [L.WAITING_ACCEPTANCE, L.REFUNDED, L.CANCELED])
def test_lines_cannot_be_refunded_before_shipping_or_twice(state: LineState) -> None:
    with pytest.raises(IllegalTransition):
        next_line_state(state, E.REFUNDED)


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (RefundState.WAITING_REFUND_TAX_CONFIRMATION, RefundState.WAITING_REFUND),
        (RefundState.WAITING_REFUND, RefundState.WAITING_REFUND_PAYMENT),
        (RefundState.WAITING_REFUND_PAYMENT, RefundState.REFUNDED),
        (RefundState.REFUNDED, RefundState.REFUNDED),
    ],
)
def test_refund_progression(state: RefundState, expected: RefundState) -> None:
    assert next_refund_state(state) == expected


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ([L.REFUSED, L.REFUSED], O.REFUSED),
        ([L.REFUSED, L.CANCELED], O.CANCELED),
        ([L.REFUSED, L.WAITING_DEBIT_PAYMENT], O.WAITING_DEBIT_PAYMENT),
        ([L.SHIPPED, L.SHIPPING], O.SHIPPING),
        ([L.SHIPPED, L.REFUNDED], O.SHIPPED),
        ([L.INCIDENT_OPEN, L.RECEIVED], O.SHIPPED),
    ],
)
def test_order_state_follows_its_least_advanced_live_line(
    lines: list[LineState], expected: OrderState
) -> None:
    assert order_state_of_lines(lines) == expected


def test_states_are_strings_with_mirakl_values() -> None:
    assert O.WAITING_ACCEPTANCE == "WAITING_ACCEPTANCE"
    assert {s.value for s in L} - {s.value for s in O} == {"INCIDENT_OPEN", "REFUNDED"}
