"""Price sync: marketplace prices from shop prices, pushed by PRI01.

PRI01 is delete-and-replace: every price of a submitted offer that is NOT in the file is
deleted. The hub therefore always sends an offer's FULL price set, which in the hub's
model is one default price per offer (no discount, no channel or volume prices; a
marketplace discount set by hand in the back office is removed the next time the hub
sends that offer's price, by design). Only offers whose price changed are submitted;
offers left out of the file keep their prices untouched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from mirakl_sync.domain.exception_types import ExceptionType
from mirakl_sync.domain.exceptions import ExceptionReport, OwnerTeam, Severity
from mirakl_sync.domain.pricing import PriceRules, marketplace_price, price_text
from mirakl_sync.services.ports import Clock, ExceptionLog, MarketplaceOffers, OfferStates
from mirakl_sync.services.stock_snapshot import CatalogueSnapshot
from mirakl_sync.services.stock_sync import (
    ImportTracking,
    PushResult,
    TrackResult,
    track_imports,
)

PRICES = "prices"


@dataclass(frozen=True)
class MarketPrices:
    code: str
    rules: PriceRules


def desired_prices(snapshot: CatalogueSnapshot, rules: PriceRules) -> dict[str, str]:
    return {o.shop_sku: price_text(marketplace_price(o.shop_price, rules)) for o in snapshot.offers}


class PriceSync:
    def __init__(self, states: OfferStates, exceptions: ExceptionLog, clock: Clock) -> None:
        self.states = states
        self.exceptions = exceptions
        self.clock = clock

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def plan(self, snapshot: CatalogueSnapshot, markets: Sequence[MarketPrices]) -> dict[str, int]:
        changed: dict[str, int] = {}
        now = self._now()
        for market in markets:
            known = self.states.known_prices(market.code)
            changes = {
                sku: price
                for sku, price in desired_prices(snapshot, market.rules).items()
                if known.get(sku) != price
            }
            self.states.record_desired_prices(market.code, changes, now)
            changed[market.code] = len(changes)
        return changed

    async def push(self, offers: MarketplaceOffers) -> PushResult:
        code = offers.marketplace
        pending = self.states.pending_prices(code)
        if not pending:
            return PushResult(code)
        import_id = await offers.push_prices({sku: Decimal(p) for sku, p in pending.items()})
        now = self._now()
        self.states.record_import(code, import_id, PRICES, len(pending), now)
        self.states.mark_prices_sent(code, pending, now)
        return PushResult(code, import_id, len(pending))

    async def track(self, offers: MarketplaceOffers) -> TrackResult:
        """PRI02 once per open import; PRI03 lines become exceptions for e-commerce."""
        code = offers.marketplace
        return await track_imports(
            ImportTracking(code, PRICES, self.states, self.exceptions, self._now),
            progress_of=offers.price_import,
            error_lines_of=offers.price_import_errors,
            rejected=lambda sku, message, import_id: ExceptionReport(
                type=ExceptionType.PRICE_LINE_REJECTED,
                owner=OwnerTeam.ECOMMERCE,
                severity=Severity.ERROR,
                entity_type="offer",
                entity_id=sku,
                marketplace=code,
                message=f"{code} refused the price of offer {sku}: {message}",
                details={"import_id": import_id},
            ),
        )
