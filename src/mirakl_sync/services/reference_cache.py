"""Reference lists of each marketplace (SH21 carriers, RE01 reasons), cached for a day.

Mirakl's Call Frequency for SH21 is once a day and RE01 "cache daily", so the lists are
kept in ``sync_cursors`` (flow ``references``, scope ``<marketplace>:<list>``) as JSON
with the time they were read, and in memory for this process. Whether a marketplace has
multi-shipment (ST01 answers 404 where it is off) is remembered the same way.

**One request per list at a time** (issue 9: three concurrent cold look-ups sent three
SH21 calls, and two of them slept for tomorrow's slot):

- across coroutines, an ``asyncio.Lock`` per list: the first reads, the others find its
  answer when they get the lock;
- across processes (and the engine's step threads, each with its own cache), a claim
  (``Claims``, a lease row in the store): the holder reads, re-reading the store first;
  the others poll the store for its answer while the claim is held, for
  ``follow_seconds`` at most. A claim left by a dead process expires with its lease.

**When the list cannot be read**:

- its budget has no slot within the wait bound (``CallBudgetExhaustedError``): the last
  known list, however old, is used and the log says so (``references.stale``, with its
  age and when the next slot opens); with nothing known, None. This cache then asks no
  more before that slot opens;
- any other failure of Mirakl (5xx after the client's retries, a timeout): the last known
  list too, else None; this cache then asks no more for ``FAILURE_BACKOFF_SECONDS``, so a
  pass of many parcels sends one failing request, not one per parcel (issue 10). Under
  the real once-a-day budget the failed request used the day's slot anyway.

None means "unknown": callers then trust the configuration and let Mirakl's answer to the
write decide (dispatch sends the configured carrier code; refunds and cancellations send
the configured reason).
"""

from __future__ import annotations

import asyncio
import json
import weakref
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import structlog

from mirakl_sync.errors import CallBudgetExhaustedError, ExternalSystemError
from mirakl_sync.services.ports import Claims, Clock, Cursors, MarketplaceDispatchApi

log = structlog.get_logger(__name__)

FLOW = "references"
DAY_SECONDS = 86_400.0
#: A claim outlives any read (client timeout, retries and the budget wait bound), so a
#: live holder is never overtaken; a dead one's claim lapses after it.
CLAIM_LEASE_SECONDS = 900.0
CLAIM_PREFIX = "references:"
#: After a read that failed (5xx, timeout), this cache asks no more for this long.
FAILURE_BACKOFF_SECONDS = 300.0

Entry = tuple[float, Any]  # (read at, data)


class ReferenceCache:
    def __init__(
        self,
        cursors: Cursors,
        clock: Clock,
        *,
        max_age_seconds: float = DAY_SECONDS,
        claims: Claims | None = None,
        lease_seconds: float = CLAIM_LEASE_SECONDS,
        follow_seconds: float = 60.0,
        poll_seconds: float = 0.25,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._cursors = cursors
        self._clock = clock
        self._max_age = max_age_seconds
        self._claims = claims
        self._lease = lease_seconds
        self._follow_seconds = follow_seconds
        self._poll = poll_seconds
        self._sleep = sleep
        self._memory: dict[str, Entry] = {}
        #: scope -> when its budget's next slot opens (this cache's clock): no asking before.
        self._spent_until: dict[str, float] = {}
        # A lock belongs to one event loop; a cache may outlive one (asyncio.run per step).
        self._locks: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[str, asyncio.Lock]
        ] = weakref.WeakKeyDictionary()

    # ------------------------------------------------------------------ store

    def _stored(self, scope: str) -> Entry | None:
        """The store's entry (newer than memory when another process wrote it)."""
        raw = self._cursors.get(FLOW, scope)
        if raw is not None:
            stored = json.loads(raw)
            entry: Entry = (float(stored["at"]), stored["data"])
            held = self._memory.get(scope)
            if held is None or entry[0] >= held[0]:
                self._memory[scope] = entry
        return self._memory.get(scope)

    def _known(self, scope: str) -> Entry | None:
        return self._memory.get(scope) or self._stored(scope)

    def _is_fresh(self, entry: Entry | None) -> bool:
        return entry is not None and self._clock() - entry[0] < self._max_age

    def _fresh(self, scope: str) -> tuple[bool, Any]:
        entry = self._known(scope)
        if self._is_fresh(entry):
            assert entry is not None
            return True, entry[1]
        return False, None

    def _store(self, scope: str, data: Any) -> None:
        now = self._clock()
        self._memory[scope] = (now, data)
        self._cursors.put(
            FLOW, scope, json.dumps({"at": now, "data": data}), datetime.fromtimestamp(now, UTC)
        )

    # ------------------------------------------------------------------ single flight

    def _lock(self, scope: str) -> asyncio.Lock:
        locks = self._locks.setdefault(asyncio.get_running_loop(), {})
        if scope not in locks:
            locks[scope] = asyncio.Lock()
        return locks[scope]

    async def _cached(self, scope: str, read: Callable[[], Awaitable[Any]]) -> Any:
        entry = self._known(scope)
        if self._is_fresh(entry):
            return entry[1] if entry else None
        async with self._lock(scope):
            # Another coroutine or process may have read it while this one waited.
            entry = self._stored(scope)
            if self._is_fresh(entry):
                return entry[1] if entry else None
            if self._clock() < self._spent_until.get(scope, 0.0):
                return entry[1] if entry else None  # said in the log when it was learnt
            if self._claims is None:
                return await self._read(scope, read, entry)
            key = CLAIM_PREFIX + scope
            token = self._claims.claim(key, self._lease)
            if token is None:
                return await self._follow(scope, key, entry)
            try:
                entry = self._stored(scope)  # the previous holder may have just stored it
                if self._is_fresh(entry):
                    return entry[1] if entry else None
                return await self._read(scope, read, entry)
            finally:
                self._claims.release(key, token)

    async def _follow(self, scope: str, key: str, last: Entry | None) -> Any:
        """Another process is reading ``scope``: take its answer from the store."""
        assert self._claims is not None
        waited = 0.0
        while waited < self._follow_seconds:
            await self._sleep(self._poll)
            waited += self._poll
            entry = self._stored(scope)
            if self._is_fresh(entry):
                return entry[1] if entry else None
            if not self._claims.held(key):
                break  # the holder ended without an answer (Mirakl refused or failed)
        entry = self._stored(scope) or last
        log.warning(
            "references.not_shared",
            scope=scope,
            detail="another process was reading this list and gave no answer; "
            + ("using the last known list" if entry else "no list known: trusting the config"),
        )
        return entry[1] if entry else None

    async def _read(
        self, scope: str, read: Callable[[], Awaitable[Any]], last: Entry | None
    ) -> Any:
        try:
            data = await read()
        except CallBudgetExhaustedError as exc:
            self._spent_until[scope] = self._clock() + exc.wait_seconds
            return self._stale(scope, last, exc)
        except ExternalSystemError as exc:
            # Issue 10: a failed read (5xx, timeout) is not asked again by every parcel of
            # a pass; the last known list serves meanwhile, as when the budget is spent.
            self._spent_until[scope] = self._clock() + FAILURE_BACKOFF_SECONDS
            log.warning(
                "references.unreadable",
                scope=scope,
                error=str(exc),
                detail=(
                    "using the last known list" if last else "no list known: trusting the config"
                ),
                retry_in_seconds=FAILURE_BACKOFF_SECONDS,
            )
            return last[1] if last else None
        self._store(scope, data)
        return data

    def _stale(self, scope: str, last: Entry | None, exc: CallBudgetExhaustedError) -> Any:
        fields = {
            "scope": scope,
            "operation": exc.operation,
            "marketplace": exc.marketplace,
            "next_slot": exc.next_slot.isoformat(),
        }
        if last is None:
            log.warning(
                "references.unavailable",
                **fields,
                detail="no slot of its call budget within the wait bound and no list known "
                "yet: trusting the configuration until the next slot",
            )
            return None
        log.warning(
            "references.stale",
            **fields,
            age_hours=round((self._clock() - last[0]) / 3600, 1),
            detail="no slot of its call budget within the wait bound: using the last known "
            "list until the next slot",
        )
        return last[1]

    # ------------------------------------------------------------------ lists

    async def carriers(self, api: MarketplaceDispatchApi) -> dict[str, str] | None:
        """SH21 code -> label, or None when it cannot be read and none is known."""
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
