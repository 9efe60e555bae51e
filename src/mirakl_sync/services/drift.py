"""Drift: what the marketplace shows against what the hub last pushed, corrected.

Each run asks for an offer export (OF52; differential since the previous run's start,
a full export the first time), waits for it (OF53), downloads its chunks (OF54) and
compares each offer's quantity with ``offer_states.sent_quantity`` (only offers whose
last push finished: an import still running is not drift). A mismatch (someone edited
the offer in the back office, an import partly failed, a marketplace-side reset...) is
recorded (``marketplace_quantity``) and the hub's value queued again as pending, so
the next stock slot corrects it; the per-SKU status and message show it.

The same export is how the hub learns the offers that exist on a marketplace without it
(listed by hand or by a previous connector): a fresh database knows none of them, and a
sold-out variant's offer would otherwise keep its stale quantity. The stock flow runs a
first export (a full one, once a day at most) before its first plan of a marketplace.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from mirakl_sync.errors import RetryableError
from mirakl_sync.services.ports import Clock, MarketplaceOffers, OfferStates

DRIFT = "drift"
#: The next differential export starts this far before the previous run began, so an
#: offer updated while the previous export was built is never missed.
OVERLAP = timedelta(minutes=1)


@dataclass
class DriftReport:
    marketplace: str
    exported: int = 0
    #: SKU -> (quantity the hub sent, quantity the marketplace shows)
    mismatches: dict[str, tuple[int | None, int]] = field(default_factory=dict)
    #: Offers shown that the hub had not sent (learnt, see ``learn_listed``).
    listed: int = 0


class DriftCheck:
    def __init__(
        self,
        states: OfferStates,
        clock: Clock,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        poll_seconds: float = 10.0,
        timeout_seconds: float = 600.0,
    ) -> None:
        self.states = states
        self.clock = clock
        self.sleep = sleep
        # OF53's budget is once per 10 s; the client waits if we ask sooner anyway.
        self.poll_seconds = poll_seconds
        self.timeout_seconds = timeout_seconds

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    async def run(self, offers: MarketplaceOffers) -> DriftReport:
        code = offers.marketplace
        started = self._now()
        previous = self.states.cursor(DRIFT, code)
        since = datetime.fromisoformat(previous) - OVERLAP if previous else None
        tracking_id = await offers.start_export(since)
        deadline = self.clock() + self.timeout_seconds
        urls = await offers.export_urls(tracking_id)
        while urls is None:
            if self.clock() >= deadline:
                raise RetryableError(
                    f"{code}: offer export {tracking_id} not ready after "
                    f"{self.timeout_seconds:.0f} s; the next drift run starts a new one",
                    system="mirakl",
                )
            await self.sleep(self.poll_seconds)
            urls = await offers.export_urls(tracking_id)
        report = DriftReport(code)
        sent = self.states.sent_quantities(code)
        seen: dict[str, int | None] = {}
        listed: dict[str, int] = {}
        for url in urls:
            for offer in await offers.download_export(url):
                report.exported += 1
                if offer.shop_sku not in sent:
                    if offer.shop_sku and not offer.deleted:
                        listed[offer.shop_sku] = offer.quantity
                    continue
                shown = 0 if offer.deleted else offer.quantity
                seen[offer.shop_sku] = shown
                if sent[offer.shop_sku] != shown:
                    report.mismatches[offer.shop_sku] = (sent[offer.shop_sku], shown)
        # Offers the hub has not sent (listed by hand, by a previous connector, or not
        # pushed yet): the stock plan sends each its quantity, 0 included, and an offer
        # matching nothing in the catalogue becomes an exception.
        self.states.learn_listed(code, listed, started)
        report.listed = len(listed)
        self.states.record_marketplace_quantities(code, seen)
        self.states.requeue(
            code, {sku: shown for sku, (_, shown) in report.mismatches.items()}, started
        )
        self.states.set_cursor(DRIFT, code, started.isoformat(), started)
        return report
