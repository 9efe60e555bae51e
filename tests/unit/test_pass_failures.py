"""When a pass tries a failed record again, and what its exception says (services.pass_failures)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from mirakl_sync.domain.exception_types import ExceptionType
from mirakl_sync.domain.exceptions import (
    ExceptionRecord,
    ExceptionReport,
    ExceptionStatus,
    OwnerTeam,
    Severity,
)
from mirakl_sync.errors import CallBudgetExhaustedError, PermanentError, RetryableError
from mirakl_sync.services.pass_failures import (
    PERMANENT_RETRY,
    PassFailures,
    PassRecord,
)

NOW = 1_800_000_000.0


class MemoryLog:
    """The exception log's contract, in memory (upsert by fingerprint, newest first)."""

    def __init__(self) -> None:
        self.rows: dict[str, ExceptionRecord] = {}

    def record(self, report: ExceptionReport, now: datetime) -> ExceptionRecord:
        old = self.rows.get(report.fingerprint)
        row = ExceptionRecord(
            id=old.id if old else len(self.rows) + 1,
            type=report.type,
            owner=report.owner,
            severity=report.severity,
            status=ExceptionStatus.OPEN,
            entity_type=report.entity_type,
            entity_id=report.entity_id,
            message=report.message,
            marketplace=report.marketplace,
            details=dict(report.details),
            first_seen_at=old.first_seen_at if old else now,
            last_seen_at=now,
            count=old.count + 1 if old else 1,
            deadline_at=None,
            resolved_at=None,
        )
        self.rows[report.fingerprint] = row
        return row

    def resolve(self, fingerprint: str, now: datetime) -> bool:
        row = self.rows.get(fingerprint)
        if row is None or row.status != ExceptionStatus.OPEN:
            return False
        self.rows[fingerprint] = replace(row, status=ExceptionStatus.RESOLVED, resolved_at=now)
        return True

    def list(
        self,
        *,
        status: ExceptionStatus | None = ExceptionStatus.OPEN,
        owner: OwnerTeam | None = None,
        marketplace: str | None = None,
        limit: int = 100,
    ) -> list[ExceptionRecord]:
        rows = [
            r
            for r in self.rows.values()
            if (status is None or r.status == status)
            and (owner is None or r.owner == owner)
            and (marketplace is None or r.marketplace == marketplace)
        ]
        return sorted(rows, key=lambda r: (r.last_seen_at, r.id), reverse=True)[:limit]


def item(key: str = "shopify-refund:1") -> PassRecord:
    return PassRecord(
        type=ExceptionType.REFUND_NOT_SENT,
        owner=OwnerTeam.FINANCE,
        doing=f"the refund {key} of order 1-A (OR28)",
        retry="mirakl-sync sync refunds --once",
        entity_type="refund",
        entity_id=key,
        marketplace="debenhams",
        order_id="1-A",
        record={"key": key},
    )


@pytest.fixture
def clock() -> list[float]:
    return [NOW]


def failures(log: MemoryLog, clock: list[float]) -> PassFailures:
    return PassFailures(log, lambda: clock[0])


def test_a_transient_failure_is_a_warning_due_again_at_the_next_pass(clock: list[float]) -> None:
    log = MemoryLog()
    failures(log, clock).failed(item(), RetryableError("HTTP 500", system="mirakl"))
    [row] = log.list()
    assert row.severity == Severity.WARNING and row.owner == OwnerTeam.FINANCE
    assert "debenhams" in row.message and "1-A" in row.message
    assert failures(log, clock).due(ExceptionType.REFUND_NOT_SENT, OwnerTeam.FINANCE) == [
        {"key": "shopify-refund:1"}
    ]


def test_a_rejection_is_an_error_tried_again_only_after_an_hour(clock: list[float]) -> None:
    log = MemoryLog()
    rejected = PermanentError("HTTP 400: invalid", system="mirakl")
    rejected.operation = "OR28"
    failures(log, clock).failed(item(), rejected)
    [row] = log.list()
    assert row.severity == Severity.ERROR
    assert "OR28" in row.message and row.details["operation"] == "OR28"
    assert failures(log, clock).due(ExceptionType.REFUND_NOT_SENT, OwnerTeam.FINANCE) == []
    clock[0] += PERMANENT_RETRY.total_seconds()
    assert len(failures(log, clock).due(ExceptionType.REFUND_NOT_SENT, OwnerTeam.FINANCE)) == 1


def test_a_budget_failure_waits_for_its_next_slot_and_names_it(clock: list[float]) -> None:
    log = MemoryLog()
    exhausted = CallBudgetExhaustedError(
        "debenhams: OR11's next slot opens later",
        next_slot_at=NOW + 3600,
        wait_seconds=3600,
        operation="OR11",
        marketplace="debenhams",
        system="mirakl",
    )
    failures(log, clock).failed(item(), exhausted)
    [row] = log.list()
    slot = datetime.fromtimestamp(NOW + 3600, UTC)
    assert f"{slot:%Y-%m-%d %H:%M} UTC" in row.message and "OR11" in row.message
    assert row.details["next_slot_at"] == slot.isoformat()
    clock[0] += 3599
    assert failures(log, clock).due(ExceptionType.REFUND_NOT_SENT, OwnerTeam.FINANCE) == []
    clock[0] += 1
    assert len(failures(log, clock).due(ExceptionType.REFUND_NOT_SENT, OwnerTeam.FINANCE)) == 1


def test_success_resolves_and_a_resolved_or_ignored_record_is_not_retried(
    clock: list[float],
) -> None:
    log = MemoryLog()
    passes = failures(log, clock)

    async def fails() -> str:
        raise RetryableError("timeout", system="mirakl")

    async def works() -> str:
        return "sent"

    assert "did not go through" in asyncio.run(passes.attempt(item("a"), fails))
    assert "did not go through" in asyncio.run(passes.attempt(item("b"), fails))
    assert asyncio.run(passes.attempt(item("a"), works)) == "sent"
    assert [r.entity_id for r in log.list()] == ["b"]
    fingerprint = item("b").fingerprint
    log.rows[fingerprint] = replace(log.rows[fingerprint], status=ExceptionStatus.IGNORED)
    assert passes.due(ExceptionType.REFUND_NOT_SENT, OwnerTeam.FINANCE) == []


def test_an_error_that_is_no_external_failure_is_a_bug_and_propagates(
    clock: list[float],
) -> None:
    async def broken() -> str:
        raise KeyError("order_id")

    with pytest.raises(KeyError):
        asyncio.run(failures(MemoryLog(), clock).attempt(item(), broken))


def test_a_unit_that_crashed_is_an_ops_error_with_no_record_to_retry_and_clears_on_success(
    clock: list[float],
) -> None:
    log = MemoryLog()
    passes = failures(log, clock)
    unit = PassRecord(
        type=ExceptionType.POLL_STEP_FAILED,
        owner=OwnerTeam.OPS,
        doing="page 3 of the shop feed of the refunds pass",
        retry="mirakl-sync sync refunds --once",
        entity_type="poll",
        entity_id="refunds:page",
    )
    message = passes.crashed(unit, "KeyError: 'legacy_id', after 3 attempts")
    clock[0] += 300
    passes.crashed(replace(unit, doing="page 4 of the shop feed of the refunds pass"), "again")
    [row] = log.list()  # every page of a pass shares one exception
    assert (row.owner, row.severity, row.count) == (OwnerTeam.OPS, Severity.ERROR, 2)
    assert message.startswith("Page 3 of the shop feed of the refunds pass failed (KeyError")
    assert "skipped it and carried on" in message and "sync refunds --once" in message
    assert (
        passes.due(ExceptionType.POLL_STEP_FAILED, OwnerTeam.OPS) == []
    )  # the next pass runs it anyway
    passes.succeeded(unit)
    assert log.list() == []
