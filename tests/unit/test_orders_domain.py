"""Tables: the hub's order status machine, the decision rules, deadline escalation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mirakl_sync.domain.exceptions import Severity
from mirakl_sync.domain.orders import (
    Action,
    HubEvent,
    HubStatus,
    IllegalTransition,
    LineOutcome,
    acceptance_deadline,
    decide,
    escalation,
    event_for_marketplace_state,
    next_status,
)

S, E, L = HubStatus, HubEvent, LineOutcome


@pytest.mark.parametrize(
    ("status", "event", "expected"),
    [
        (S.NEW, E.ACCEPTED, S.ACCEPTED),
        (S.NEW, E.REFUSED, S.REFUSED),
        (S.NEW, E.HELD_UP, S.WAITING),
        (S.WAITING, E.HELD_UP, S.WAITING),
        (S.WAITING, E.ACCEPTED, S.ACCEPTED),
        (S.WAITING, E.CANCELLED, S.CANCELLED),
        (S.ACCEPTED, E.PAID, S.SHIPPING),
        (S.ACCEPTED, E.CANCELLED, S.CANCELLED),
        (S.SHIPPING, E.CANCELLED, S.CANCELLED),
        (S.SHIPPING, E.CLOSED, S.CLOSED),
    ],
)
def test_legal_transitions(status: HubStatus, event: HubEvent, expected: HubStatus) -> None:
    assert next_status(status, event) is expected


@pytest.mark.parametrize(
    ("status", "event"),
    [
        (S.REFUSED, E.ACCEPTED),
        (S.CANCELLED, E.PAID),
        (S.CLOSED, E.CANCELLED),
        (S.NEW, E.PAID),
        (S.ACCEPTED, E.HELD_UP),
        (S.SHIPPING, E.ACCEPTED),
    ],
)
def test_illegal_transitions_raise(status: HubStatus, event: HubEvent) -> None:
    with pytest.raises(IllegalTransition):
        next_status(status, event)


@pytest.mark.parametrize(
    ("state", "event"),
    [
        ("SHIPPING", E.PAID),
        ("CANCELED", E.CANCELLED),
        ("REFUSED", E.CANCELLED),
        ("SHIPPED", E.CLOSED),
        ("WAITING_DEBIT_PAYMENT", None),
    ],
)
def test_marketplace_state_events(state: str, event: HubEvent | None) -> None:
    assert event_for_marketplace_state(state) is event


@pytest.mark.parametrize(
    ("outcomes", "partial", "action", "accepted"),
    [
        ([L.OK, L.OK], True, Action.ACCEPT_ALL, ["a", "b"]),
        ([L.OK, L.OK], False, Action.ACCEPT_ALL, ["a", "b"]),
        ([L.OK, L.NO_STOCK], True, Action.ACCEPT_SOME, ["a"]),
        ([L.OK, L.NO_STOCK], False, Action.REFUSE_ALL, []),
        ([L.NO_STOCK, L.SOLD_ELSEWHERE], True, Action.REFUSE_ALL, []),
        ([L.RETIRED], False, Action.REFUSE_ALL, []),
        ([L.OK, L.UNMAPPED], True, Action.WAIT, []),
        ([L.OK, L.SHOP_UNAVAILABLE], False, Action.WAIT, []),
        ([L.NO_STOCK, L.UNMAPPED], True, Action.WAIT, []),
        # Partial acceptance off: a line that cannot ship sinks the order at once.
        ([L.NO_STOCK, L.UNMAPPED], False, Action.REFUSE_ALL, []),
    ],
)
def test_decision_rules(
    outcomes: list[LineOutcome], partial: bool, action: Action, accepted: list[str]
) -> None:
    decision = decide(dict(zip("ab", outcomes, strict=False)), partial_acceptance=partial)
    assert decision.action is action
    assert decision.accepted_line_ids == accepted
    if action is not Action.WAIT:
        assert set(decision.lines) == set("ab"[: len(outcomes)])


NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("left", "window_hours", "severity"),
    [
        (timedelta(hours=60), 72, Severity.WARNING),
        (timedelta(hours=11), 72, Severity.ERROR),
        (timedelta(hours=1), 72, Severity.CRITICAL),
        (timedelta(hours=-1), 72, Severity.CRITICAL),
        # A short window escalates on its own scale.
        (timedelta(minutes=50), 2, Severity.ERROR),
        (timedelta(minutes=10), 2, Severity.CRITICAL),
    ],
)
def test_escalation_as_the_deadline_nears(
    left: timedelta, window_hours: float, severity: Severity
) -> None:
    assert escalation(NOW, NOW + left, timedelta(hours=window_hours)) is severity


def test_deadline_is_creation_plus_window() -> None:
    assert acceptance_deadline(NOW, 72) == NOW + timedelta(hours=72)
