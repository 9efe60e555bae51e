"""Offer sync: a full offer refresh by OF01 (NORMAL; REPLACE only on explicit request).

Every offer of the catalogue goes out with its product link (``product-id`` = barcode,
``product-id-type`` per marketplace), condition (``state``), price and the quantity the
stock flow decided, so new offers are created and existing ones converge. NORMAL leaves
offers missing from the file alone; REPLACE deletes them, so it is never the default.
The quantities and prices sent are recorded as sent, like a stock or price push.

An offer without barcode has no ``product-id``: OF01 cannot create it, so it is left out
of the file (stock and price still reach it by STO01 and PRI01 when it exists). Where the
marketplace has not shown that it holds the offer (no stock push to it has succeeded),
that is an exception for e-commerce saying what to do; it clears once a push succeeds.
Leaving such an offer out is safe under NORMAL; under REPLACE it would delete an offer
listed by hand, so a REPLACE refresh refuses to run while there are any.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from mirakl_sync.domain.allocation import RuleBook, desired_quantities
from mirakl_sync.domain.exception_types import ExceptionType
from mirakl_sync.domain.exceptions import ExceptionReport, OwnerTeam, Severity
from mirakl_sync.domain.offers import OfferRow
from mirakl_sync.domain.pricing import PriceRules
from mirakl_sync.errors import MiraklSyncError
from mirakl_sync.services.ports import (
    Clock,
    ExceptionLog,
    MarketplaceOffers,
    OfferStates,
    StockLedger,
)
from mirakl_sync.services.price_sync import desired_prices
from mirakl_sync.services.stock_exceptions import keep_reported, not_creatable
from mirakl_sync.services.stock_snapshot import CatalogueSnapshot
from mirakl_sync.services.stock_sync import (
    ImportTracking,
    PushResult,
    TrackResult,
    track_imports,
)

OFFERS = "offers"


@dataclass(frozen=True)
class MarketOffers:
    code: str
    product_id_type: str
    stock_rules: RuleBook
    price_rules: PriceRules


class OfferSync:
    def __init__(
        self, states: OfferStates, ledger: StockLedger, exceptions: ExceptionLog, clock: Clock
    ) -> None:
        self.states = states
        self.ledger = ledger
        self.exceptions = exceptions
        self.clock = clock

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def rows(self, snapshot: CatalogueSnapshot, market: MarketOffers) -> list[OfferRow]:
        quantities = desired_quantities(
            snapshot.source(), self.ledger.held_quantities(), market.stock_rules, snapshot.facts()
        )
        prices = desired_prices(snapshot, market.price_rules)
        return [
            OfferRow(
                o.shop_sku,
                o.product_id,
                market.product_id_type,
                Decimal(prices[o.shop_sku]),
                quantities[o.shop_sku],
                o.state,
            )
            for o in snapshot.offers
            if o.product_id is not None
        ]

    def report_not_creatable(self, snapshot: CatalogueSnapshot, code: str) -> list[str]:
        """Offers of ``snapshot`` OF01 cannot create and ``code`` has not shown it holds
        (no finished stock push to them was accepted): one exception each, the others
        cleared. Returns their SKUs."""
        held_there = self.states.sent_quantities(code)
        missing = sorted(
            o.shop_sku for o in snapshot.offers if not o.creatable and o.shop_sku not in held_there
        )
        keep_reported(
            self.exceptions,
            ExceptionType.OFFER_NOT_CREATABLE,
            (not_creatable(code, sku) for sku in missing),
            self._now(),
            marketplace=code,
        )
        return missing

    async def refresh(
        self,
        snapshot: CatalogueSnapshot,
        market: MarketOffers,
        offers: MarketplaceOffers,
        *,
        replace: bool = False,
    ) -> PushResult:
        not_in_file = [o.shop_sku for o in snapshot.offers if not o.creatable]
        if replace and not_in_file:
            raise MiraklSyncError(
                f"{market.code}: an offer REPLACE would delete the {len(not_in_file)} offers "
                f"whose variants have no barcode (e.g. {not_in_file[0]}), which the hub cannot "
                "send in OF01; add their barcodes in Shopify first, or refresh in NORMAL mode"
            )
        self.report_not_creatable(snapshot, market.code)
        rows = self.rows(snapshot, market)
        if not rows:
            return PushResult(market.code)
        import_id = await offers.push_offers(rows, replace=replace)
        now = self._now()
        quantities = {r.sku: r.quantity for r in rows}
        known = self.states.known_quantities(market.code)
        self.states.record_desired_quantities(
            market.code, {s: q for s, q in quantities.items() if known.get(s) != q}, now
        )
        self.states.record_import(market.code, import_id, OFFERS, len(rows), now)
        self.states.mark_stock_sent(market.code, quantities, import_id, now)
        prices = {r.sku: format(r.price, "f") for r in rows}
        self.states.record_desired_prices(market.code, prices, now)
        self.states.mark_prices_sent(market.code, prices, now)
        return PushResult(market.code, import_id, len(rows))

    async def track(self, offers: MarketplaceOffers) -> TrackResult:
        """OF02 once per open import; OF03 lines become exceptions for e-commerce."""
        code = offers.marketplace

        def mark(import_id: str, errors: Mapping[str, str], now: datetime) -> list[str]:
            # The refused offers' stock lines are marked too; every line is reported.
            self.states.mark_stock_errors(code, import_id, errors, now)
            return list(errors)

        return await track_imports(
            ImportTracking(code, OFFERS, self.states, self.exceptions, self._now),
            progress_of=offers.offer_import,
            error_lines_of=offers.offer_import_errors,
            rejected=lambda sku, message, import_id: ExceptionReport(
                type=ExceptionType.OFFER_LINE_REJECTED,
                owner=OwnerTeam.ECOMMERCE,
                severity=Severity.ERROR,
                entity_type="offer",
                entity_id=sku,
                marketplace=code,
                message=f"{code} refused offer {sku}: {message}",
                details={"import_id": import_id},
            ),
            mark_errors=mark,
        )
