"""Mirakl order and order-line states, and the transitions between them.

Mirakl's seller API reports an ``order_state`` per logistic order and an
``order_line_state`` per line (the order states plus ``INCIDENT_OPEN`` and
``REFUNDED``). Which transitions exist is not published as a table; this one is
assembled from the seller OpenAPI (state enums, OR21/OR24/OR28/OR29 descriptions)
and operator documentation, as summarised in ``shared/reference/mirakl-api.md`` §4.
The emulator applies it, and the hub can use it to reason about what Mirakl may do next.

**Not yet** (issue 10): before the customer is debited Mirakl takes no shipment, refund
or cancellation of an accepted line, so such work waits (``NOT_YET_STATES``); an order
REFUSED or CANCELED will never take one and was never charged (``NEVER_CHARGED_STATES``).
Mirakl's refusals carry no business code for this, only a text naming the state;
:func:`state_named_in` reads it (the one place such texts are parsed).
"""

from __future__ import annotations

import re
from enum import StrEnum


class OrderState(StrEnum):
    """``order_state`` of a Mirakl order (and, with the extra line states, of a line)."""

    #: Being validated by the platform (fraud, payment authorisation); not yet shown to act on.
    STAGING = "STAGING"
    #: The seller must accept or refuse each line (OR21) before the acceptance window closes.
    WAITING_ACCEPTANCE = "WAITING_ACCEPTANCE"
    #: Accepted; the operator has not yet asked the payment provider to debit the customer.
    WAITING_DEBIT = "WAITING_DEBIT"
    #: Accepted; the debit is requested and awaits the payment provider's confirmation.
    WAITING_DEBIT_PAYMENT = "WAITING_DEBIT_PAYMENT"
    #: Paid; the seller must ship (OR23 + OR24, or ST01/ST24).
    SHIPPING = "SHIPPING"
    #: The seller confirmed the shipment.
    SHIPPED = "SHIPPED"
    #: Click and collect: ready for the customer to pick up.
    TO_COLLECT = "TO_COLLECT"
    #: The customer (or the operator, after a delay) confirmed receipt.
    RECEIVED = "RECEIVED"
    #: Final: nothing more can happen to the order.
    CLOSED = "CLOSED"
    #: Final: the seller refused the order, or the acceptance window expired.
    REFUSED = "REFUSED"
    #: Final: canceled by the seller (OR29/OR30), the operator, or a failed debit.
    CANCELED = "CANCELED"


class LineState(StrEnum):
    """``order_line_state``: the order states plus two that only lines have."""

    #: See :class:`OrderState` for the shared states.
    STAGING = "STAGING"
    WAITING_ACCEPTANCE = "WAITING_ACCEPTANCE"
    WAITING_DEBIT = "WAITING_DEBIT"
    WAITING_DEBIT_PAYMENT = "WAITING_DEBIT_PAYMENT"
    SHIPPING = "SHIPPING"
    SHIPPED = "SHIPPED"
    TO_COLLECT = "TO_COLLECT"
    RECEIVED = "RECEIVED"
    CLOSED = "CLOSED"
    REFUSED = "REFUSED"
    CANCELED = "CANCELED"
    #: The customer or operator opened an incident on the line.
    INCIDENT_OPEN = "INCIDENT_OPEN"
    #: Refunds (OR28) cover the whole line.
    REFUNDED = "REFUNDED"


class RefundState(StrEnum):
    """``refund_state`` of one refund on a line, in the order Mirakl moves through them."""

    #: Waiting for the tax engine to confirm the refund's taxes.
    WAITING_REFUND_TAX_CONFIRMATION = "WAITING_REFUND_TAX_CONFIRMATION"
    #: Waiting for the operator to start the refund.
    WAITING_REFUND = "WAITING_REFUND"
    #: The refund is sent to the payment provider.
    WAITING_REFUND_PAYMENT = "WAITING_REFUND_PAYMENT"
    #: Final: the customer was refunded.
    REFUNDED = "REFUNDED"


class OrderEvent(StrEnum):
    """Something that moves an order or a line to another state."""

    #: The platform finished validating a staged order.
    VALIDATED = "VALIDATED"
    #: OR21 with ``accepted: true`` (or automatic acceptance).
    ACCEPTED = "ACCEPTED"
    #: OR21 with ``accepted: false``.
    REFUSED = "REFUSED"
    #: The acceptance window closed without a decision (``acceptance_decision_date`` stays null).
    ACCEPTANCE_EXPIRED = "ACCEPTANCE_EXPIRED"
    #: The operator asked the payment provider to debit the customer.
    DEBIT_REQUESTED = "DEBIT_REQUESTED"
    #: The payment provider confirmed the debit.
    DEBITED = "DEBITED"
    #: The debit was refused or timed out.
    DEBIT_FAILED = "DEBIT_FAILED"
    #: OR24, ST01 with ``shipped: true``, or ST24.
    SHIPPED = "SHIPPED"
    #: ST26: ready for pick-up (click and collect).
    READY_FOR_PICK_UP = "READY_FOR_PICK_UP"
    #: The customer or operator confirmed receipt.
    RECEIVED = "RECEIVED"
    #: The operator closed the order.
    CLOSED = "CLOSED"
    #: OR29 (whole order) or OR30 (lines).
    CANCELED = "CANCELED"
    #: OR28 refunds now cover the whole line (lines only).
    REFUNDED = "REFUNDED"


class IllegalTransition(ValueError):
    """The event cannot happen in the current state."""

    def __init__(self, state: str, event: OrderEvent) -> None:
        self.state = state
        self.event = event
        super().__init__(f"cannot apply {event.value} to an order or line in state {state}")


_O = OrderState
_E = OrderEvent

#: Order-level transitions: (state, event) -> next state.
ORDER_TRANSITIONS: dict[tuple[OrderState, OrderEvent], OrderState] = {
    (_O.STAGING, _E.VALIDATED): _O.WAITING_ACCEPTANCE,
    (_O.STAGING, _E.CANCELED): _O.CANCELED,
    (_O.WAITING_ACCEPTANCE, _E.ACCEPTED): _O.WAITING_DEBIT_PAYMENT,
    (_O.WAITING_ACCEPTANCE, _E.REFUSED): _O.REFUSED,
    (_O.WAITING_ACCEPTANCE, _E.ACCEPTANCE_EXPIRED): _O.REFUSED,
    (_O.WAITING_DEBIT, _E.DEBIT_REQUESTED): _O.WAITING_DEBIT_PAYMENT,
    (_O.WAITING_DEBIT, _E.DEBITED): _O.SHIPPING,
    (_O.WAITING_DEBIT, _E.DEBIT_FAILED): _O.CANCELED,
    (_O.WAITING_DEBIT, _E.CANCELED): _O.CANCELED,
    (_O.WAITING_DEBIT_PAYMENT, _E.DEBITED): _O.SHIPPING,
    (_O.WAITING_DEBIT_PAYMENT, _E.DEBIT_FAILED): _O.CANCELED,
    (_O.WAITING_DEBIT_PAYMENT, _E.CANCELED): _O.CANCELED,
    (_O.SHIPPING, _E.SHIPPED): _O.SHIPPED,
    (_O.SHIPPING, _E.READY_FOR_PICK_UP): _O.TO_COLLECT,
    (_O.SHIPPING, _E.CANCELED): _O.CANCELED,
    (_O.SHIPPED, _E.RECEIVED): _O.RECEIVED,
    (_O.TO_COLLECT, _E.RECEIVED): _O.RECEIVED,
    (_O.RECEIVED, _E.CLOSED): _O.CLOSED,
}

_L = LineState

#: Line-level transitions: the order's, plus refunds (a line is refunded once shipped or
#: received; some operators also allow it in SHIPPING, which the emulator follows).
LINE_TRANSITIONS: dict[tuple[LineState, OrderEvent], LineState] = {
    **{(_L(s.value), e): _L(t.value) for (s, e), t in ORDER_TRANSITIONS.items()},
    (_L.SHIPPING, _E.REFUNDED): _L.REFUNDED,
    (_L.SHIPPED, _E.REFUNDED): _L.REFUNDED,
    (_L.RECEIVED, _E.REFUNDED): _L.REFUNDED,
}

#: States nothing leaves.
FINAL_STATES: frozenset[str] = frozenset({"CLOSED", "REFUSED", "CANCELED", "REFUNDED"})

#: Refund progression, one step per payment-provider round trip.
REFUND_PROGRESSION: dict[RefundState, RefundState] = {
    RefundState.WAITING_REFUND_TAX_CONFIRMATION: RefundState.WAITING_REFUND,
    RefundState.WAITING_REFUND: RefundState.WAITING_REFUND_PAYMENT,
    RefundState.WAITING_REFUND_PAYMENT: RefundState.REFUNDED,
}


def next_state(state: OrderState, event: OrderEvent) -> OrderState:
    """The order state after ``event``; raises :class:`IllegalTransition` if it cannot happen."""
    try:
        return ORDER_TRANSITIONS[(OrderState(state), event)]
    except KeyError:
        raise IllegalTransition(str(state), event) from None


def next_line_state(state: LineState, event: OrderEvent) -> LineState:
    """The line state after ``event``; raises :class:`IllegalTransition` if it cannot happen."""
    try:
        return LINE_TRANSITIONS[(LineState(state), event)]
    except KeyError:
        raise IllegalTransition(str(state), event) from None


def next_refund_state(state: RefundState) -> RefundState:
    """The next refund state; a refunded refund stays refunded."""
    return REFUND_PROGRESSION.get(state, RefundState.REFUNDED)


def order_state_of_lines(states: list[LineState]) -> OrderState:
    """The order state implied by its lines (an order is as far as its live lines are).

    Refused and canceled lines are left behind by the others; an order whose lines are
    all refused is REFUSED, all canceled (or a mix of canceled and refused) is CANCELED.
    Refunded lines count as the state they were in (the order keeps going).
    """
    live = [s for s in states if s not in (_L.REFUSED, _L.CANCELED, _L.REFUNDED)]
    if not live:
        if states and all(s == _L.REFUSED for s in states):
            return OrderState.REFUSED
        if any(s == _L.REFUNDED for s in states):
            raise ValueError("a fully refunded order keeps its previous state")
        return OrderState.CANCELED
    order = [s.value for s in OrderState]
    ranked = sorted(
        (s if s != _L.INCIDENT_OPEN else _L.SHIPPED for s in live),
        key=lambda s: order.index(s.value),
    )
    return OrderState(ranked[0].value)


#: Order (or line) states in which Mirakl does not take a shipment, a refund or a
#: cancellation yet: the order is not accepted, or the customer not debited
#: (mirakl-api.md §4: WAITING_ACCEPTANCE -> WAITING_DEBIT(_PAYMENT) -> SHIPPING).
NOT_YET_STATES = frozenset(
    {
        OrderState.STAGING.value,
        OrderState.WAITING_ACCEPTANCE.value,
        OrderState.WAITING_DEBIT.value,
        OrderState.WAITING_DEBIT_PAYMENT.value,
    }
)
#: Final states of an order that never shipped: refused (by the seller or the acceptance
#: window) or canceled (by anyone, or a failed debit). Nothing is left to refund on Mirakl:
#: a customer debited before a cancellation is refunded by the operator/PSP.
NEVER_CHARGED_STATES = frozenset({OrderState.REFUSED.value, OrderState.CANCELED.value})

#: The texts in which Mirakl names the state that made it refuse a write. Mirakl documents
#: no error code for OR23/OR24/ST01/OR28/OR29 state refusals (mirakl-api.md §1: "OR24
#: 'Current status is ...' -> re-read the order via OR11"); the wordings are those seen
#: from Mirakl in the soak of issue 10 ("Current status is WAITING_DEBIT_PAYMENT" on
#: OR23/ST01/OR24, "cannot be refunded in WAITING_ACCEPTANCE" on OR28), which the
#: emulator reproduces. Add a wording here, nowhere else.
_STATE_TEXTS = (
    re.compile(r"Current status is\s+([A-Z_]+)"),
    re.compile(r"cannot be (?:refunded|canceled|cancelled|shipped) in\s+(?:state\s+)?([A-Z_]+)"),
)
_KNOWN = {s.value for s in OrderState} | {s.value for s in LineState}


def state_named_in(message: str) -> str | None:
    """The order or line state a Mirakl refusal names, if it names a known one."""
    for pattern in _STATE_TEXTS:
        found = pattern.search(message)
        if found and found.group(1) in _KNOWN:
            return found.group(1)
    return None


def not_yet(message: str) -> str | None:
    """The state a refusal names when it means "not yet" (see ``NOT_YET_STATES``)."""
    state = state_named_in(message)
    return state if state in NOT_YET_STATES else None
