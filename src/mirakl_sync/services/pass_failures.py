"""A record that fails in a polling pass: an exception for its team, tried again later.

The shipments and refunds passes (the 5-minute polls, ``sync shipments|refunds --once``)
handle many records: fulfilments, refunds, cancellations. One of them failing (Mirakl
answers 500 after the client's retries, a timeout, a call budget with no slot within
``max_budget_wait_seconds``, a 4xx nobody expected) must not stop the others (issue 9:
"the rest of the work carries on"). So each record is run through
:meth:`PassFailures.attempt`:

* on success, the record's open "not sent" exception (if any) is resolved;
* on an ``ExternalSystemError`` the exception is recorded (upserted by fingerprint: the
  same record failing again raises the count of one exception) with the owner team, the
  order, the marketplace, the operation and what happens next, and the record's fields
  are kept in its ``details`` so a later pass can try it again even though the shop
  order does not change again (the shop feed's cursor has moved past it).

:meth:`PassFailures.due` lists the records a pass should try again: those whose
``retry_at`` has come. A budget's record waits for the slot (``next_slot_at``); a
transient failure is retried by the next pass; a rejection (``PermanentError``) that no
service handled is retried hourly, so a fix (config, marketplace back office) is picked
up without a human re-run. An exception marked ignored is no longer retried.

Every path retried this way is idempotent: OR28 is bound per refund source before it is
sent (``services.refunds``), ST01 re-reads ST11 for shipments naming the fulfilment,
OR24 re-reads the order when refused, OR29/OR30 re-read the order first.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import structlog

from mirakl_sync.domain.exception_types import ExceptionType
from mirakl_sync.domain.exceptions import ExceptionReport, ExceptionStatus, OwnerTeam, Severity
from mirakl_sync.errors import CallBudgetExhaustedError, ExternalSystemError, PermanentError
from mirakl_sync.services.ports import Clock, ExceptionLog

log = structlog.get_logger(__name__)
T = TypeVar("T")

#: How long a record Mirakl rejected waits before a pass tries it again.
PERMANENT_RETRY = timedelta(hours=1)
#: Records tried again per pass and type, oldest first (the rest wait for later passes).
RETRY_LIMIT = 200
#: Open exceptions read back to find the due records.
OPEN_LIMIT = 10_000


@dataclass(frozen=True)
class PassRecord:
    """One record of a pass, as its exception names it and keeps it for a retry."""

    type: ExceptionType
    owner: OwnerTeam
    #: What the pass does with it, for people: "the shipment of fulfilment X of order Y".
    doing: str
    #: The command that runs a pass by hand.
    retry: str
    entity_type: str
    entity_id: str
    marketplace: str | None = None
    order_id: str | None = None
    #: The record's fields, enough to try it again (JSON); None: nothing to retry (a
    #: source read again from its cursor anyway).
    record: dict[str, Any] | None = field(default=None, hash=False, compare=False)

    def report(self, message: str, severity: Severity, details: dict[str, Any]) -> ExceptionReport:
        return ExceptionReport(
            type=self.type,
            owner=self.owner,
            severity=severity,
            entity_type=self.entity_type,
            entity_id=self.entity_id,
            marketplace=self.marketplace,
            message=message,
            details=details,
        )

    @property
    def fingerprint(self) -> str:
        return self.report("", Severity.INFO, {}).fingerprint


def _operation(exc: ExternalSystemError) -> str:
    return getattr(exc, "operation", "") or ""


def describe(
    item: PassRecord, exc: ExternalSystemError, now: datetime
) -> tuple[str, Severity, datetime]:
    """The exception's message, its severity and when a pass should try the record again."""
    where = f" on {item.marketplace}" if item.marketplace else ""
    operation = _operation(exc)
    call = f"{operation} failed: " if operation and operation not in str(exc) else ""
    head = f"{item.doing[:1].upper()}{item.doing[1:]}{where} did not go through ({call}{exc})."
    if isinstance(exc, CallBudgetExhaustedError):
        at = exc.next_slot
        return (
            f"{head} Nothing to do: the hub tries it again in its first pass after "
            f"{at:%Y-%m-%d %H:%M} UTC, when {operation or 'the call'}'s next slot opens "
            f"(or run `{item.retry}` then). If such exceptions keep coming, the hub's "
            f"{operation or 'calls'} exceed what the marketplace's Call Frequency allows "
            "(another process on the same key?).",
            Severity.WARNING,
            max(at, now),
        )
    if isinstance(exc, PermanentError):
        return (
            f"{head} The marketplace refused it; retrying unchanged will not help: fix what "
            f"the message names (the config, or the order in the back office). The hub tries "
            f"it again every hour, or run `{item.retry}` after the fix.",
            Severity.ERROR,
            now + PERMANENT_RETRY,
        )
    return (
        f"{head} The next pass (every 5 minutes while the hub runs, or `{item.retry}`) "
        "tries it again and this clears itself once it goes through; if it stays open, "
        "check the system's status and `mirakl-sync doctor`.",
        Severity.WARNING,
        now,
    )


class PassFailures:
    """Records a pass's failing records as exceptions, and lists those due for a retry."""

    def __init__(self, exceptions: ExceptionLog, clock: Clock) -> None:
        self._exceptions = exceptions
        self._clock = clock

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def failed(self, item: PassRecord, exc: ExternalSystemError) -> str:
        """Record ``item``'s failure; returns the exception's message."""
        now = self._now()
        message, severity, retry_at = describe(item, exc, now)
        details: dict[str, Any] = {
            "error": str(exc),
            "error_type": type(exc).__name__,
            "operation": _operation(exc),
            "retry": item.retry,
            "retry_at": retry_at.isoformat(),
        }
        if item.order_id is not None:
            details["order_id"] = item.order_id
        if isinstance(exc, CallBudgetExhaustedError):
            details["next_slot_at"] = exc.next_slot.isoformat()
        if item.record is not None:
            details["record"] = item.record
        self._exceptions.record(item.report(message, severity, details), now)
        log.warning(
            "pass.record_failed",
            type=item.type,
            marketplace=item.marketplace,
            entity=item.entity_id,
            error=str(exc),
            retry_at=retry_at.isoformat(),
        )
        return message

    def crashed(self, item: PassRecord, error: str) -> str:
        """Record that ``item`` (a unit of a pass, or a shop order it could not handle)
        raised ``error``, an error no service turns into a record's exception (a bug, or a
        fault outside the external systems' errors); its ``record``, if any, is kept for
        :meth:`due`. Returns the exception's message."""
        now = self._now()
        message = (
            f"{item.doing[:1].upper()}{item.doing[1:]} failed ({error}). The pass skipped "
            f"it and carried on with the rest; the next pass (every 5 minutes while the hub "
            f"runs, or `{item.retry}`) runs it again and this clears itself once it goes "
            "through. If it stays open, the hub's log has the traceback: report it."
        )
        details: dict[str, Any] = {
            "error": error,
            "retry": item.retry,
            "retry_at": now.isoformat(),
        }
        if item.order_id is not None:
            details["order_id"] = item.order_id
        if item.record is not None:
            details["record"] = item.record
        self._exceptions.record(item.report(message, Severity.ERROR, details), now)
        log.error("pass.unit_failed", type=item.type, entity=item.entity_id, error=error)
        return message

    def succeeded(self, item: PassRecord) -> None:
        """The record went through (or needs nothing any more): its exception clears."""
        self._exceptions.resolve(item.fingerprint, self._now())

    async def attempt(self, item: PassRecord, work: Callable[[], Awaitable[T]]) -> T | str:
        """``work()``'s result, or (it raised an ``ExternalSystemError``) the recorded
        exception's message. Any other error is a bug and propagates."""
        try:
            result = await work()
        except ExternalSystemError as exc:
            return self.failed(item, exc)
        self.succeeded(item)
        return result

    def open_entities(self, type_: str, owner: OwnerTeam) -> set[str]:
        """Entity ids of the open ``type_`` exceptions (one read, so a batch resolves only
        what is open instead of writing once per record)."""
        open_ = self._exceptions.list(status=ExceptionStatus.OPEN, owner=owner, limit=OPEN_LIMIT)
        return {r.entity_id for r in open_ if r.type == type_}

    def due(self, type_: str, owner: OwnerTeam) -> list[dict[str, Any]]:
        """The kept records of open ``type_`` exceptions whose retry time has come, oldest
        first, at most ``RETRY_LIMIT``."""
        now = self._now()
        out: list[dict[str, Any]] = []
        open_ = self._exceptions.list(status=ExceptionStatus.OPEN, owner=owner, limit=OPEN_LIMIT)
        for record in reversed(open_):
            kept = record.details.get("record")
            if record.type != type_ or not isinstance(kept, dict):
                continue
            retry_at = record.details.get("retry_at")
            if retry_at is not None and datetime.fromisoformat(str(retry_at)) > now:
                continue
            out.append(kept)
            if len(out) >= RETRY_LIMIT:
                break
        return out
