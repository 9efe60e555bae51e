"""Reference lists of each marketplace (SH21 carriers, RE01 reasons), cached for a day.

Mirakl's Call Frequency for SH21 is once a day and RE01 "cache daily", so the lists are
kept in ``sync_cursors`` (flow ``references``, scope ``<marketplace>:<list>``) as JSON
with the time they were read, and in memory for this process. A list that cannot be
read is ``None``: callers then trust the configuration and let Mirakl's answer decide.
Whether a marketplace has multi-shipment (ST01 answers 404 where it is off) is
remembered the same way.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import structlog

from mirakl_sync.errors import ExternalSystemError
from mirakl_sync.services.ports import Clock, Cursors, MarketplaceDispatchApi

log = structlog.get_logger(__name__)

FLOW = "references"
DAY_SECONDS = 86_400.0


class ReferenceCache:
    def __init__(
        self, cursors: Cursors, clock: Clock, *, max_age_seconds: float = DAY_SECONDS
    ) -> None:
        self._cursors = cursors
        self._clock = clock
        self._max_age = max_age_seconds
        self._memory: dict[str, tuple[float, Any]] = {}

    def _fresh(self, scope: str) -> tuple[bool, Any]:
        now = self._clock()
        hit = self._memory.get(scope)
        if hit is None:
            raw = self._cursors.get(FLOW, scope)
            if raw is not None:
                stored = json.loads(raw)
                hit = (float(stored["at"]), stored["data"])
                self._memory[scope] = hit
        if hit is not None and now - hit[0] < self._max_age:
            return True, hit[1]
        return False, None

    def _store(self, scope: str, data: Any) -> None:
        now = self._clock()
        self._memory[scope] = (now, data)
        self._cursors.put(
            FLOW, scope, json.dumps({"at": now, "data": data}), datetime.fromtimestamp(now, UTC)
        )

    async def _cached(self, scope: str, read: Callable[[], Awaitable[Any]]) -> Any:
        fresh, data = self._fresh(scope)
        if fresh:
            return data
        try:
            data = await read()
        except ExternalSystemError as exc:
            log.warning("references.unreadable", scope=scope, error=str(exc))
            return None
        self._store(scope, data)
        return data

    async def carriers(self, api: MarketplaceDispatchApi) -> dict[str, str] | None:
        """SH21 code -> label, or None when it cannot be read."""
        data = await self._cached(f"{api.marketplace}:SH21", api.carriers)
        return None if data is None else dict(data)

    async def reasons(self, api: MarketplaceDispatchApi, reason_type: str) -> list[str] | None:
        """RE01 codes of ``reason_type`` the shop may use, or None when unreadable."""

        async def read() -> list[str]:
            return await api.reasons(reason_type)

        data = await self._cached(f"{api.marketplace}:RE01:{reason_type}", read)
        return None if data is None else list(data)

    def multi_shipment(self, marketplace: str) -> bool | None:
        """True/False once learnt from ST01 (404 = off), None before."""
        fresh, data = self._fresh(f"{marketplace}:multi_shipment")
        return bool(data) if fresh else None

    def learn_multi_shipment(self, marketplace: str, enabled: bool) -> None:
        self._store(f"{marketplace}:multi_shipment", enabled)
