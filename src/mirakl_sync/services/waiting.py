"""Waiting work: what Mirakl cannot take yet because of the order's state, kept until it can.

A shipment, refund or cancellation of an order not yet accepted or not yet debited
(``domain.marketplace_order.NOT_YET_STATES``) is refused by Mirakl ("Current status is
WAITING_DEBIT_PAYMENT", "cannot be refunded in WAITING_ACCEPTANCE"). That is neither a
failure nor the end of it (issue 10: such refunds were raised as ``refund_failed`` with the
wrong remedy and never retried; shipments became ``carrier_rejected`` and stopped). So:

* the durable workflows sleep and try again (``workflows.dispatch``);
* a polling pass keeps the record as an open **INFO** exception (``shipment_waiting``,
  ``refund_waiting``, ``cancel_waiting``) holding the record's fields, so the next pass
  tries it again (``PassFailures.due`` lists it like a failed record) even though the shop
  feed's cursor has moved past it. Its message says there is nothing to do; nobody is
  alerted. It resolves once the work goes through or is no longer needed.

**The deadline.** A record still waiting ``BLOCKED_AFTER`` (72 h) after it first waited is
an exception for its team (``*_blocked``, ERROR) naming the order's state and what to check:
by then the marketplace should have accepted or refused the order (acceptance windows seen
are 3 to 5 days, this hub decides within minutes) and debited or cancelled it (an unpaid
WAITING_DEBIT is cancelled after 72 h on one operator, see ``mirakl-api.md`` §3). The
record is kept and tried hourly from then on, so the work still goes out once Mirakl
allows it. "First waited" is the INFO record's ``first_seen_at``: for work a workflow handed
over (after waiting a day itself, ``workflows.dispatch``), the time of the hand-over.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from mirakl_sync.domain.exception_types import ExceptionType
from mirakl_sync.domain.exceptions import ExceptionReport, OwnerTeam, Severity
from mirakl_sync.services.pass_failures import PassFailures, PassRecord
from mirakl_sync.services.ports import Clock, ExceptionLog

log = structlog.get_logger(__name__)

#: How long work may wait for the order's state before its team is told.
BLOCKED_AFTER = timedelta(hours=72)
#: Once blocked, how often a pass tries it again.
BLOCKED_RETRY = timedelta(hours=1)


@dataclass(frozen=True)
class WaitKind:
    """One kind of waiting work and the exceptions it records."""

    #: The INFO record a pass keeps (and retries) while it waits.
    waiting: ExceptionType
    #: The ERROR exception once it waited past ``BLOCKED_AFTER``.
    blocked: ExceptionType
    owner: OwnerTeam
    #: What must happen first, for people ("the order is accepted and debited").
    needs: str


SHIPMENT = WaitKind(
    ExceptionType.SHIPMENT_WAITING,
    ExceptionType.SHIPMENT_BLOCKED,
    OwnerTeam.OPS,
    "the order is accepted and the customer debited",
)
REFUND = WaitKind(
    ExceptionType.REFUND_WAITING,
    ExceptionType.REFUND_BLOCKED,
    OwnerTeam.FINANCE,
    "the order is accepted and the customer debited",
)
CANCELLATION = WaitKind(
    ExceptionType.CANCEL_WAITING,
    ExceptionType.CANCEL_BLOCKED,
    OwnerTeam.OPS,
    "the order is accepted",
)


class WaitingWork:
    """Keeps, escalates and clears the waiting records of one kind of work."""

    def __init__(self, kind: WaitKind, exceptions: ExceptionLog, clock: Clock) -> None:
        self._kind = kind
        self._exceptions = exceptions
        self._clock = clock
        self._failures = PassFailures(exceptions, clock)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def _as(self, item: PassRecord, type_: ExceptionType) -> PassRecord:
        return replace(item, type=type_, owner=self._kind.owner)

    def wait(self, item: PassRecord, state: str) -> str:
        """Keep ``item`` (a pass's record) for the next pass while the order is ``state``;
        past the deadline, also open its ``*_blocked`` exception. Returns the message."""
        now = self._now()
        where = f" on {item.marketplace}" if item.marketplace else ""
        order = f"order {item.order_id}" if item.order_id else "the order"
        head = f"{item.doing[:1].upper()}{item.doing[1:]}{where}"
        message = (
            f"{head} waits: Mirakl takes it only once {self._kind.needs}, and {order} is "
            f"{state}. Nothing to do: the hub sends it as soon as the order allows it "
            f"(every pass, or `{item.retry}`)."
        )
        details: dict[str, Any] = {
            "state": state,
            "retry": item.retry,
            "retry_at": now.isoformat(),
            "record": item.record,
        }
        if item.order_id is not None:
            details["order_id"] = item.order_id
        waiting = self._as(item, self._kind.waiting)
        kept = self._exceptions.record(waiting.report(message, Severity.INFO, details), now)
        since = kept.first_seen_at
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        if now - since < BLOCKED_AFTER:
            log.info("pass.record_waiting", type=waiting.type, entity=item.entity_id, state=state)
            return message
        # Blocked: tell the team, and try it hourly from now on (the record stays kept).
        details["retry_at"] = (now + BLOCKED_RETRY).isoformat()
        self._exceptions.record(waiting.report(message, Severity.INFO, details), now)
        hours = int((now - since).total_seconds() // 3600)
        blocked = (
            f"{head} has waited {hours} h for Mirakl: {order} is still {state} (since "
            f"{since:%Y-%m-%d %H:%M} UTC), and Mirakl takes it only once "
            f"{self._kind.needs}. Check the order in the {item.marketplace or 'marketplace'} "
            "back office (stuck in acceptance or payment? ask the operator) and that the "
            "hub still pulls orders (no order_pull_stale exception). The hub keeps trying "
            f"every hour and clears this once it goes through; `{item.retry}` tries now."
        )
        self._exceptions.record(
            ExceptionReport(
                type=self._kind.blocked,
                owner=self._kind.owner,
                severity=Severity.ERROR,
                entity_type=item.entity_type,
                entity_id=item.entity_id,
                marketplace=item.marketplace,
                message=blocked,
                details={
                    "state": state,
                    "waiting_since": since.isoformat(),
                    "order_id": item.order_id,
                    "retry": item.retry,
                },
            ),
            now,
        )
        log.warning("pass.record_blocked", type=self._kind.blocked, entity=item.entity_id)
        return blocked

    def settled(self, item: PassRecord) -> None:
        """The work went through, or is no longer needed: its waiting records clear."""
        now = self._now()
        for type_ in (self._kind.waiting, self._kind.blocked):
            self._exceptions.resolve(self._as(item, type_).fingerprint, now)

    def due(self) -> list[dict[str, Any]]:
        """The kept records due for another try (oldest first)."""
        return self._failures.due(self._kind.waiting, self._kind.owner)

    def waiting_entities(self) -> set[str]:
        """Entity ids of the open waiting records (one read per batch)."""
        return self._failures.open_entities(self._kind.waiting, self._kind.owner)
