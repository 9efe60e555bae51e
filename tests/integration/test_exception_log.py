"""The exception log keeps one row per problem and counts repeats, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mirakl_sync.adapters.store.database import create_store_engine
from mirakl_sync.adapters.store.exception_log import SqlExceptionLog
from mirakl_sync.adapters.store.migrations import upgrade_database
from mirakl_sync.domain.exceptions import ExceptionReport, ExceptionStatus, OwnerTeam, Severity

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def _unmapped(sku: str = "FJ-JAC-0001-XS", severity: Severity = Severity.ERROR) -> ExceptionReport:
    return ExceptionReport(
        type="unmapped_sku",
        owner=OwnerTeam.ECOMMERCE,
        severity=severity,
        entity_type="sku",
        entity_id=sku,
        marketplace="debenhams",
        message=f"offer SKU {sku} matches no Shopify variant",
        details={"order_id": "1001-A"},
        deadline_at=T0 + timedelta(hours=72),
    )


def test_repeats_bump_the_count_and_a_resolved_problem_reopens(database_url: str) -> None:
    upgrade_database(database_url)
    engine = create_store_engine(database_url)
    log = SqlExceptionLog(engine)
    try:
        first = log.record(_unmapped(), T0)
        again = log.record(_unmapped(severity=Severity.CRITICAL), T0 + timedelta(minutes=5))
        other = log.record(_unmapped("FJ-FLE-0003-M"), T0 + timedelta(minutes=6))

        assert again.id == first.id and again.count == 2
        assert again.first_seen_at == T0 and again.last_seen_at == T0 + timedelta(minutes=5)
        assert again.severity is Severity.CRITICAL
        assert again.deadline_at == T0 + timedelta(hours=72)
        assert other.id != first.id
        assert [r.entity_id for r in log.list()] == ["FJ-FLE-0003-M", "FJ-JAC-0001-XS"]
        assert log.list(owner=OwnerTeam.FINANCE) == []

        assert log.resolve(first_fingerprint := _unmapped().fingerprint, T0 + timedelta(hours=1))
        assert not log.resolve(first_fingerprint, T0 + timedelta(hours=1))
        assert [r.entity_id for r in log.list()] == ["FJ-FLE-0003-M"]
        resolved = log.list(status=ExceptionStatus.RESOLVED)
        assert resolved[0].resolved_at == T0 + timedelta(hours=1)

        reopened = log.record(_unmapped(), T0 + timedelta(hours=2))
        assert reopened.status is ExceptionStatus.OPEN and reopened.count == 3
        assert reopened.resolved_at is None
    finally:
        engine.dispose()
