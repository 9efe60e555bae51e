"""The hub's Mirakl clients: the one-second arrival margin shrinks with the budget scale.

Before (issue 10, the soak): on the sandbox's compressed clock (``call_budget_scale`` 0.1,
OR11 once every 6 s) the full second of margin made every OR11 slot 7 s against the 6 s
poll, so each pull queued behind the previous one's slot and a restarted hub waited up to
two slots before a marketplace was pulled again.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from mirakl_sync.adapters.store.migrations import upgrade_database
from mirakl_sync.bootstrap import Transports, bootstrap
from mirakl_sync.config import settings_from_mapping


def _orders(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"orders": [], "total_count": 0})


@pytest.mark.parametrize(("scale", "spacing"), [(0.1, 6.1), (1.0, 61.0), (2.0, 121.0)])
def test_or11_slots_are_the_scaled_period_plus_a_scaled_margin(
    tmp_path: Path, scale: float, spacing: float
) -> None:
    settings = settings_from_mapping(
        {
            "database_url": f"sqlite:///{tmp_path / 'hub.db'}",
            "shopify": {"shop": "s.myshopify.com", "access_token": "t"},
            "supercycle": {"api_key": "k"},
            "marketplaces": [
                {
                    "code": "debenhams",
                    "base_url": "http://mirakl",
                    "api_key": "key",
                    "shop_id": 1,
                    "call_budget_scale": scale,
                    "max_budget_wait_seconds": 600,
                }
            ],
        },
        env={},
    )
    upgrade_database(settings.database_url)
    transport = httpx.MockTransport(_orders)
    hub = bootstrap(settings, transports=Transports(mirakl={"debenhams": transport}))
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async def two_pulls() -> None:
        async with hub.mirakl(settings.marketplace("debenhams"), sleep=sleep) as client:
            for _ in range(2):
                assert [o async for o in client.list_orders()] == []

    try:
        asyncio.run(two_pulls())
    finally:
        hub.close()
    # The first call goes at once; the second waits one slot (less the moments between).
    assert len(waits) == 1, waits
    assert spacing - 1.0 < waits[0] <= spacing, waits
