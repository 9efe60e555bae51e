"""Stock sync: desired quantities per marketplace, pushed as ONE STO01 file per slot.

A cycle has three parts, each safe to run again:

1. **plan** (no network): for each marketplace, ``desired = source - held - rules``
   (``domain.allocation``), diffed against what the hub last decided; changes are
   written to ``offer_states`` as pending (repeated changes to one offer coalesce: the
   row holds the latest value only);
2. **push**: every pending quantity of a marketplace goes out in one STO01 file. The
   client waits for the next allowed slot of the STO01 budget (once a minute), so a
   push never exceeds Mirakl's maximum. STO01 quantities are absolute, so re-sending
   after an ambiguous failure is harmless: rows stay pending until a push succeeds;
3. **track**: open imports are polled (STO02); lines in the error report (STO03)
   become per-offer exceptions for e-commerce, and the offer's status ``error``.

Stock always goes before prices and offers: its budget key (STO01) is its own, and the
scheduler runs it first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from mirakl_sync.domain.allocation import RuleBook, desired_quantities, plan_stock_updates
from mirakl_sync.domain.exception_types import ExceptionType
from mirakl_sync.domain.exceptions import ExceptionReport, OwnerTeam, Severity
from mirakl_sync.domain.offers import ImportErrorLine, ImportProgress
from mirakl_sync.services.ports import (
    Clock,
    ExceptionLog,
    MarketplaceOffers,
    OfferStates,
    StockLedger,
)
from mirakl_sync.services.stock_exceptions import (
    keep_reported,
    not_listed,
    offer_unmatched,
)
from mirakl_sync.services.stock_snapshot import CatalogueSnapshot

STOCK = "stock"


@dataclass(frozen=True)
class MarketStock:
    """One marketplace's stock rules."""

    code: str
    rules: RuleBook


@dataclass
class PushResult:
    marketplace: str
    import_id: str | None = None
    lines: int = 0


@dataclass
class TrackResult:
    marketplace: str
    finished: list[str] = field(default_factory=list)
    #: SKU -> reason, for lines the marketplace refused.
    errors: dict[str, str] = field(default_factory=dict)


class StockSync:
    def __init__(
        self,
        states: OfferStates,
        ledger: StockLedger,
        exceptions: ExceptionLog,
        clock: Clock,
    ) -> None:
        self.states = states
        self.ledger = ledger
        self.exceptions = exceptions
        self.clock = clock

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def plan(
        self,
        snapshot: CatalogueSnapshot,
        markets: Sequence[MarketStock],
        *,
        keys: Collection[str] | None = None,
        held: Mapping[str, int] | None = None,
    ) -> dict[str, int]:
        """Record the new desired quantities; return how many changed per marketplace.

        ``keys`` (incremental cycles): ``snapshot`` covers only these offer SKUs, so only
        their decisions are compared; a key absent from the snapshot is gone from the
        source (set to 0 if listed). Without ``keys`` the snapshot is the whole catalogue.
        """
        if held is None:
            held = self.ledger.held_quantities(None if keys is None else sorted(keys))
        source = snapshot.source()
        facts = snapshot.facts()
        now = self._now()
        skipped = {s.key: s.reason for s in snapshot.skipped}
        changed: dict[str, int] = {}
        for market in markets:
            desired = desired_quantities(source, held, market.rules, facts)
            known = self.states.known_quantities(market.code, keys)
            # Offers the marketplace showed it holds (listed by hand or by a previous
            # connector) get a quantity even when it is 0: theirs there is stale.
            listed = self.states.listed_skus(market.code, keys)
            changes = plan_stock_updates(desired, known, listed)
            self.states.record_desired_quantities(market.code, changes, now)
            # A record that can no longer be listed but was listed with stock is set to 0
            # first (``changes``): marking it skipped now would keep that 0 from going out.
            self.states.mark_skipped(
                market.code, {k: r for k, r in skipped.items() if k not in changes}, now
            )
            changed[market.code] = len(changes)
        report_not_listed(self.exceptions, snapshot, now, keys=keys)
        if keys is None:
            # A full snapshot: an offer the marketplace shows that matches nothing in it
            # is one the hub cannot keep in step.
            for market in markets:
                unmatched = self.states.listed_skus(market.code) - source.keys()
                unmatched -= {s.key for s in snapshot.skipped}
                keep_reported(
                    self.exceptions,
                    ExceptionType.OFFER_UNMATCHED,
                    (offer_unmatched(market.code, sku) for sku in sorted(unmatched)),
                    now,
                    marketplace=market.code,
                )
        return changed

    async def push(self, offers: MarketplaceOffers) -> PushResult:
        """Send every pending quantity of one marketplace in one STO01 file."""
        code = offers.marketplace
        pending = self.states.pending_quantities(code)
        if not pending:
            return PushResult(code)
        import_id = await offers.push_stock(pending)
        now = self._now()
        self.states.record_import(code, import_id, STOCK, len(pending), now)
        self.states.mark_stock_sent(code, pending, import_id, now)
        return PushResult(code, import_id, len(pending))

    async def track(self, offers: MarketplaceOffers) -> TrackResult:
        """Poll open stock imports once (STO02); turn error reports (STO03) into exceptions.

        Only lines still ``sent`` by that import become exceptions: a SKU changed again
        since is already on its way with a newer quantity.
        """
        code = offers.marketplace
        return await track_imports(
            ImportTracking(code, STOCK, self.states, self.exceptions, self._now),
            progress_of=offers.stock_import,
            error_lines_of=offers.stock_import_errors,
            rejected=lambda sku, message, import_id: _line_rejected(code, sku, message, import_id),
            mark_errors=lambda import_id, errors, at: self.states.mark_stock_errors(
                code, import_id, errors, at
            ),
        )


@dataclass(frozen=True)
class ImportTracking:
    """Where one marketplace's imports of one kind (stock, prices, offers) are tracked."""

    marketplace: str
    kind: str
    states: OfferStates
    exceptions: ExceptionLog
    now: Callable[[], datetime]


async def track_imports(
    tracking: ImportTracking,
    *,
    progress_of: Callable[[str], Awaitable[ImportProgress]],
    error_lines_of: Callable[[str], Awaitable[list[ImportErrorLine]]],
    rejected: Callable[[str, str, str], ExceptionReport],
    mark_errors: Callable[[str, Mapping[str, str], datetime], list[str]] | None = None,
) -> TrackResult:
    """Poll each open import once; close the finished ones, their error lines becoming
    per-SKU exceptions (``rejected(sku, message, import_id)``).

    ``mark_errors(import_id, errors, now)`` records the errors on the offers and returns
    the SKUs to report; without it every error line is reported.
    """
    code, states = tracking.marketplace, tracking.states
    result = TrackResult(code)
    for import_id in states.open_imports(code, tracking.kind):
        progress = await progress_of(import_id)
        if not progress.finished:
            continue
        if progress.has_error_report or progress.lines_in_error:
            errors = {line.shop_sku: line.message for line in await error_lines_of(import_id)}
            now = tracking.now()
            reported = list(errors) if mark_errors is None else mark_errors(import_id, errors, now)
            for sku in reported:
                result.errors[sku] = errors[sku]
                tracking.exceptions.record(rejected(sku, errors[sku], import_id), now)
        states.finish_import(
            code, import_id, progress.status, progress.lines_in_error, tracking.now()
        )
        result.finished.append(import_id)
    return result


async def track_until_finished(
    track: Callable[[], Awaitable[TrackResult]],
    still_open: Callable[[], bool],
    *,
    timeout_seconds: float,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Clock,
    poll_seconds: float = 1.0,
) -> list[TrackResult]:
    """Track until no import is open or ``timeout_seconds`` pass (``--once`` runs)."""
    deadline = clock() + timeout_seconds
    results = [await track()]
    while still_open() and clock() < deadline:
        await sleep(poll_seconds)
        results.append(await track())
    return results


def report_not_listed(
    log: ExceptionLog,
    snapshot: CatalogueSnapshot,
    now: datetime,
    *,
    keys: Collection[str] | None = None,
) -> None:
    """Each record of ``snapshot`` that cannot be listed is an open exception for
    e-commerce; one that can be listed again (among ``keys``, when the snapshot covers
    only them) is resolved."""
    keep_reported(
        log,
        ExceptionType.OFFER_NOT_LISTED,
        (not_listed(s) for s in snapshot.skipped),
        now,
        scope=keys,
    )


def _line_rejected(code: str, sku: str, message: str, import_id: str) -> ExceptionReport:
    return ExceptionReport(
        type=ExceptionType.STOCK_LINE_REJECTED,
        owner=OwnerTeam.ECOMMERCE,
        severity=Severity.ERROR,
        entity_type="offer",
        entity_id=sku,
        marketplace=code,
        message=(
            f"{code} refused the stock of offer {sku}: {message}. If the offer does not exist "
            "there yet, run `mirakl-sync sync offers --once` to create it (its Shopify "
            "variant needs a barcode for that), or create it on the marketplace by hand with "
            f"shop SKU {sku}. `mirakl-sync offers status {code} --sku {sku}` shows its state."
        ),
        details={"import_id": import_id},
    )
