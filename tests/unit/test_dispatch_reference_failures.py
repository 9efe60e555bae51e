"""A reference list (SH21, RE01) whose call fails, not for its budget but with a 5xx or a
timeout (issue 10, item 1, where no budget stops the retries: a sandbox, a lifted budget).

The last known list, however old, is used (as when the budget is spent), rather than
nothing; and the same cache does not ask again for a while, so a pass of many parcels
makes one failing request, not one per parcel.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime

from mirakl_sync.errors import RetryableError
from mirakl_sync.services.reference_cache import FAILURE_BACKOFF_SECONDS, FLOW, ReferenceCache

DAY = 86_400.0


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class MemoryCursors:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], str] = {}

    def get(self, flow: str, scope: str) -> str | None:
        return self.rows.get((flow, scope))

    def put(self, flow: str, scope: str, value: str, now: datetime) -> None:
        self.rows[(flow, scope)] = value

    def written_at(self, flow: str, scope: str) -> datetime | None:
        return None


class FailingMirakl:
    """SH21 answers 500 (after the client's own retries) until ``healthy``."""

    marketplace = "debenhams"

    def __init__(self) -> None:
        self.calls = 0
        self.healthy = False

    async def carriers(self) -> dict[str, str]:
        self.calls += 1
        if not self.healthy:
            raise RetryableError("SH21: Mirakl answered 500")
        return {"RM": "Royal Mail", "DPD": "DPD"}


def test_a_failing_sh21_uses_the_last_list_and_is_not_asked_again_at_once() -> None:
    clock = Clock()
    cursors = MemoryCursors()
    old = {"at": clock.now - 3 * DAY, "data": {"DPD": "DPD"}}
    cursors.rows[(FLOW, "debenhams:SH21")] = json.dumps(old)
    cache = ReferenceCache(cursors, clock)
    mirakl = FailingMirakl()

    async def parcels(count: int) -> list[dict[str, str] | None]:
        return [await cache.carriers(mirakl) for _ in range(count)]  # type: ignore[arg-type]

    assert asyncio.run(parcels(5)) == [{"DPD": "DPD"}] * 5
    assert mirakl.calls == 1
    # After the back-off it asks again, and a good answer replaces the old list.
    clock.now += FAILURE_BACKOFF_SECONDS + 1
    mirakl.healthy = True
    assert asyncio.run(parcels(1)) == [{"RM": "Royal Mail", "DPD": "DPD"}]
    assert mirakl.calls == 2


def test_a_failing_sh21_with_no_list_known_trusts_the_config() -> None:
    clock = Clock()
    cache = ReferenceCache(MemoryCursors(), clock)
    mirakl = FailingMirakl()

    async def parcels(count: int) -> list[dict[str, str] | None]:
        return [await cache.carriers(mirakl) for _ in range(count)]  # type: ignore[arg-type]

    assert asyncio.run(parcels(3)) == [None] * 3
    assert mirakl.calls == 1
