"""The composition root: the one place that builds adapters and hands them to services.

Nothing here runs at import time. Entry points call ``open_store(settings)`` or
``bootstrap(settings)``; tests pass overrides (e.g. an ASGI transport to an emulator)
instead of monkeypatching.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import Engine

from mirakl_sync.adapters.store.call_budget import SqlCallBudget
from mirakl_sync.adapters.store.database import create_store_engine
from mirakl_sync.adapters.store.exception_log import SqlExceptionLog
from mirakl_sync.config import MarketplaceSettings, Settings
from mirakl_sync.domain.call_budget import Budget
from mirakl_sync.services.ports import CallBudget, Clock

if TYPE_CHECKING:
    from mirakl_sync.adapters.mirakl.client import MiraklClient
    from mirakl_sync.adapters.shopify.client import ShopifyClient
    from mirakl_sync.adapters.shopify.cost import ShopifyPacing
    from mirakl_sync.adapters.supercycle.client import SupercycleClient


@dataclass
class Store:
    engine: Engine
    exception_log: SqlExceptionLog
    call_budget: SqlCallBudget

    def close(self) -> None:
        self.engine.dispose()


@contextmanager
def open_store(settings: Settings, clock: Clock = time.time) -> Iterator[Store]:
    engine = create_store_engine(settings.database_url)
    store = Store(engine, SqlExceptionLog(engine), SqlCallBudget(engine, clock=clock))
    try:
        yield store
    finally:
        store.close()


@dataclass
class Transports:
    """Optional HTTP transports per system (tests route them to the emulators in-process)."""

    shopify: httpx.AsyncBaseTransport | None = None
    supercycle: httpx.AsyncBaseTransport | None = None
    #: By marketplace code.
    mirakl: dict[str, httpx.AsyncBaseTransport] = field(default_factory=dict)


@dataclass
class Hub:
    """Everything a flow needs, built once per process from the settings."""

    settings: Settings
    store: Store
    transports: Transports
    #: The shop's query-cost bucket as this hub's Shopify clients see it: one per clock
    #: they keep time with (see :meth:`shopify`).
    _shopify_pacings: dict[Any, ShopifyPacing] = field(default_factory=dict, repr=False)

    def mirakl(
        self, market: MarketplaceSettings, *, call_budget: CallBudget | None = None, **options: Any
    ) -> MiraklClient:
        """A client of one marketplace; ``call_budget`` defaults to the shared store budget,
        with slots spaced a second wider than the spec (Mirakl counts arrivals). Under a
        ``call_budget_scale`` below 1 (the sandbox's compressed clock) the margin shrinks
        with it: a full second on 6 s slots made every OR11 slot 7 s against a 6 s poll,
        so the pulls queued behind their own slots (the soak)."""
        from mirakl_sync.adapters.mirakl.budget_margin import MARGIN_SECONDS, MarginCallBudget
        from mirakl_sync.adapters.mirakl.client import MiraklClient

        options.setdefault("max_budget_wait", market.max_budget_wait_seconds)
        return MiraklClient(
            market.base_url,
            market.api_key.get_secret_value(),
            shop_id=market.shop_id,
            marketplace=market.code,
            transport=self.transports.mirakl.get(market.code),
            call_budget=call_budget
            or MarginCallBudget(
                self.store.call_budget,
                margin_seconds=MARGIN_SECONDS * min(1.0, market.call_budget_scale),
            ),
            budget_scale=market.call_budget_scale,
            **options,
        )

    def shopify(self, **options: Any) -> ShopifyClient:
        from mirakl_sync.adapters.shopify.client import ShopifyClient
        from mirakl_sync.adapters.shopify.cost import ShopifyPacing

        shopify = self.settings.shopify
        # Clients share the shop's cost bucket only if they read the same clock: a bucket
        # mirrored at one clock's times cannot be refilled by another's (tests and
        # simulations give their own clock and get their own bucket).
        clock = options.get("clock", time.time)
        pacing = self._shopify_pacings.get(clock)
        if pacing is None:
            pacing = self._shopify_pacings[clock] = ShopifyPacing()
        return ShopifyClient(
            shopify.graphql_url,
            shopify.access_token.get_secret_value(),
            transport=self.transports.shopify,
            pacing=pacing,
            **options,
        )

    def supercycle(self, **options: Any) -> SupercycleClient | None:
        from mirakl_sync.adapters.supercycle.client import SupercycleClient

        supercycle = self.settings.supercycle
        if supercycle is None:
            return None
        return SupercycleClient(
            supercycle.base_url,
            supercycle.api_key.get_secret_value(),
            transport=self.transports.supercycle,
            call_budget=self.store.call_budget,
            budget=Budget(supercycle.requests_per_minute, 60.0),
            **options,
        )

    def close(self) -> None:
        self.store.close()


def bootstrap(
    settings: Settings, *, transports: Transports | None = None, clock: Clock = time.time
) -> Hub:
    engine = create_store_engine(settings.database_url)
    store = Store(engine, SqlExceptionLog(engine), SqlCallBudget(engine, clock=clock))
    return Hub(settings=settings, store=store, transports=transports or Transports())
