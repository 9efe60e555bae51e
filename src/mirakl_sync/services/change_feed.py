"""The change feed: noticing source changes between two scheduled stock cycles.

Two signals, never trusted alone (each stock cycle still reads the whole source, which is
the periodic reconcile):

- Supercycle has no webhooks: its items are polled with the ``updated`` filter every
  ``supercycle.poll_seconds`` (one or two requests of the 120/min budget); the cursor
  survives restarts in ``sync_cursors``;
- Shopify ``inventory_levels/update`` webhooks mark the stock dirty (the web receiver
  calls :meth:`ChangeFeed.note_shop_change`).

``changed()`` tells the scheduler whether to run a stock cycle now instead of at its
next regular time; the push itself still waits for the STO01 slot.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mirakl_sync.services.ports import Clock, OfferStates, SupercycleCatalogue

FEED = "change-feed"
SUPERCYCLE_SCOPE = "supercycle-items"
SHOP_SCOPE = "shopify-dirty"
HANDLED_SCOPE = "handled"
#: Re-read this far behind the cursor: an item updated while the previous page was read
#: must not be missed.
OVERLAP = timedelta(seconds=5)


class ChangeFeed:
    def __init__(
        self, states: OfferStates, supercycle: SupercycleCatalogue | None, clock: Clock
    ) -> None:
        self.states = states
        self.supercycle = supercycle
        self.clock = clock

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    async def supercycle_changes(self) -> list[str]:
        """Serials of the items updated since the last poll (all items the first time)."""
        if self.supercycle is None:
            return []
        now = self._now()
        previous = self.states.cursor(FEED, SUPERCYCLE_SCOPE)
        since = datetime.fromisoformat(previous) - OVERLAP if previous else None
        serials = [item.serial async for item in self.supercycle.items(updated_since=since)]
        self.states.set_cursor(FEED, SUPERCYCLE_SCOPE, now.isoformat(), now)
        return serials

    def note_shop_change(self) -> None:
        """A Shopify inventory webhook arrived: the stock is dirty."""
        now = self._now()
        self.states.set_cursor(FEED, SHOP_SCOPE, now.isoformat(), now)

    def shop_dirty(self) -> bool:
        dirty = self.states.cursor(FEED, SHOP_SCOPE)
        handled = self.states.cursor(FEED, HANDLED_SCOPE)
        return dirty is not None and (handled is None or dirty > handled)

    def mark_handled(self) -> None:
        """A stock cycle read the whole source: every signal so far is handled."""
        now = self._now()
        self.states.set_cursor(FEED, HANDLED_SCOPE, now.isoformat(), now)

    async def changed(self) -> bool:
        """True when the source changed since the last handled cycle."""
        if self.shop_dirty():
            return True
        previous = self.states.cursor(FEED, SUPERCYCLE_SCOPE)
        changes = await self.supercycle_changes()
        # The first poll returns every item: a baseline, not a change.
        return previous is not None and bool(changes)
