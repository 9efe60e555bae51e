"""The stock ledger never promises a unit twice, even to concurrent deciders, on both databases."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from mirakl_sync.adapters.store.database import create_store_engine
from mirakl_sync.adapters.store.migrations import upgrade_database
from mirakl_sync.adapters.store.stock_ledger import SqlStockLedger
from mirakl_sync.domain.stock_pool import LineHold, ReservationStatus

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def line(marketplace: str, line_id: str, sku: str = "SC000123", quantity: int = 1) -> LineHold:
    return LineHold(sku, marketplace, f"{line_id}-order", line_id, quantity)


def test_a_unique_item_is_held_for_exactly_one_of_many_concurrent_orders(database_url: str) -> None:
    upgrade_database(database_url)
    engine = create_store_engine(database_url)
    ledger = SqlStockLedger(engine)
    try:
        requests = [
            line(m, f"{m}-{i}") for m in ("debenhams", "sportshub", "maisonhome") for i in range(4)
        ]
        with ThreadPoolExecutor(max_workers=6) as pool:
            outcomes = list(
                pool.map(lambda r: ledger.hold(r, source_available=1, now=NOW), requests)
            )
        assert sum(o.decision.granted for o in outcomes) == 1
        assert ledger.held_quantities() == {"SC000123": 1}
    finally:
        engine.dispose()


def test_holds_are_idempotent_per_line_and_move_through_their_lifecycle(database_url: str) -> None:
    upgrade_database(database_url)
    engine = create_store_engine(database_url)
    ledger = SqlStockLedger(engine)
    try:
        first = ledger.hold(
            line("debenhams", "L1", "FJ-JAC-0001-M", 2), source_available=3, now=NOW
        )
        again = ledger.hold(
            line("debenhams", "L1", "FJ-JAC-0001-M", 2), source_available=3, now=NOW
        )
        assert first.decision.granted and not first.existing
        assert again.decision.granted and again.existing
        assert ledger.held_quantities(["FJ-JAC-0001-M"]) == {"FJ-JAC-0001-M": 2}

        refused = ledger.hold(
            line("sportshub", "L2", "FJ-JAC-0001-M", 2), source_available=3, now=NOW
        )
        assert not refused.decision.granted and refused.decision.free == 1

        assert ledger.commit("debenhams", "L1", NOW)
        assert not ledger.commit("debenhams", "L1", NOW)
        assert ledger.held_quantities() == {}
        reservation = ledger.reservation("debenhams", "L1")
        assert reservation is not None and reservation.status is ReservationStatus.COMMITTED

        assert ledger.release("debenhams", "L1", NOW)
        assert not ledger.commit("debenhams", "L1", NOW), "released stock is never taken again"
        late = ledger.hold(line("debenhams", "L1", "FJ-JAC-0001-M", 2), source_available=3, now=NOW)
        assert not late.decision.granted and late.existing
    finally:
        engine.dispose()


def test_a_sale_committed_after_the_source_was_read_still_counts_against_that_read(
    database_url: str,
) -> None:
    # Before (issue 10, a 10-minute soak): order A held a unique item, marked it sold in
    # Supercycle and committed its hold (no longer counted: the source reflects it); order
    # B had read the item as available just before A's sale and asked for its hold just
    # after A's commit. Nothing was held, the read said 1: B got the item too, and both
    # orders were accepted for it. A read older than a commit does not reflect it.
    upgrade_database(database_url)
    engine = create_store_engine(database_url)
    ledger = SqlStockLedger(engine)
    second = timedelta(seconds=1)
    try:
        assert ledger.hold(line("debenhams", "A1"), source_available=1, now=NOW).decision.granted
        b_read = NOW + second  # B reads the item: still available
        assert ledger.commit("debenhams", "A1", NOW + 2 * second)  # A's sale lands
        late = ledger.hold(
            line("sportshub", "B1"), source_available=1, now=NOW + 3 * second, read_at=b_read
        )
        assert not late.decision.granted and late.decision.free == 0
        # A read well after the commit reflects it: the item is back only if the source
        # says so (returned, made available again), and then it can be held.
        later = NOW + 60 * second
        again = ledger.hold(line("sportshub", "B2"), source_available=1, now=later, read_at=later)
        assert again.decision.granted
    finally:
        engine.dispose()
