"""The store's call budget spaces calls across threads sharing one database; its claims
lapse with their holder."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

from mirakl_sync.adapters.process_identity import holder_of
from mirakl_sync.adapters.store.call_budget import SqlCallBudget, SqlClaims
from mirakl_sync.adapters.store.database import create_store_engine
from mirakl_sync.adapters.store.migrations import upgrade_database
from mirakl_sync.domain.call_budget import Budget


def test_concurrent_reservations_get_distinct_slots(database_url: str) -> None:
    upgrade_database(database_url)
    engine = create_store_engine(database_url)
    now = 1_000_000.0
    budget = SqlCallBudget(engine, clock=lambda: now)
    try:
        with ThreadPoolExecutor(max_workers=6) as pool:
            waits = list(
                pool.map(lambda _: budget.reserve("mirakl:a:OR11", Budget(1, 60)), range(12))
            )
        # Twelve callers at the same instant: one goes now, the others queue a minute apart.
        assert sorted(waits) == [60.0 * i for i in range(12)]
        assert budget.reserve("mirakl:b:OR11", Budget(1, 60)) == 0.0
    finally:
        engine.dispose()


def test_try_reserve_takes_only_a_free_slot(database_url: str) -> None:
    upgrade_database(database_url)
    engine = create_store_engine(database_url)
    now = [1_000_000.0]
    budget = SqlCallBudget(engine, clock=lambda: now[0])
    daily = Budget(1, 86_400)
    try:
        assert budget.try_reserve("mirakl:a:A01", daily)
        assert not budget.try_reserve("mirakl:a:A01", daily)
        now[0] += 86_400
        assert budget.try_reserve("mirakl:a:A01", daily)
        # A refused try leaves the budget as it was: a blocking caller is not pushed back.
        assert budget.reserve("mirakl:a:A01", daily) == 86_400
    finally:
        engine.dispose()


def test_a_claim_whose_holder_died_is_taken_over_at_once(database_url: str) -> None:
    # Before (issue 10, the hour soak): a process SIGKILLed while it read a reference list
    # (RE01, SH21) kept its claim for the whole 900 s lease; every other process waited a
    # minute on it at each look-up, so a refunds pass's page never finished between kills
    # and the pass held every later refunds pass off for good (one stuck from 15:07 on).
    upgrade_database(database_url)
    engine = create_store_engine(database_url)
    now = 1_000_000.0
    try:
        gone = subprocess.Popen([sys.executable, "-c", "pass"])
        gone.wait()
        alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        try:
            dead = SqlClaims(engine, clock=lambda: now, holder=holder_of(gone.pid))
            live = SqlClaims(engine, clock=lambda: now, holder=holder_of(alive.pid))
            ours = SqlClaims(engine, clock=lambda: now)
            assert dead.claim("references:debenhams:RE01:REFUND", 900.0) is not None
            assert not ours.held("references:debenhams:RE01:REFUND")
            assert ours.claim("references:debenhams:RE01:REFUND", 900.0) is not None
            # A live holder keeps its claim: nobody reads the list beside it.
            assert live.claim("references:debenhams:SH21", 900.0) is not None
            assert ours.held("references:debenhams:SH21")
            assert ours.claim("references:debenhams:SH21", 900.0) is None
        finally:
            alive.kill()
            alive.wait()
    finally:
        engine.dispose()


@dataclass
class Holders:
    """Three budgets on one store: a holder whose process is gone, one whose process
    runs, and this process."""

    dead: SqlCallBudget
    live: SqlCallBudget
    ours: SqlCallBudget


@contextmanager
def _holders(database_url: str) -> Iterator[tuple[list[float], Holders]]:
    """A clock (``now[0]``) and the :class:`Holders` on one store."""
    upgrade_database(database_url)
    engine = create_store_engine(database_url)
    now = [1_000_000.0]
    try:
        gone = subprocess.Popen([sys.executable, "-c", "pass"])
        gone.wait()
        alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        try:
            yield (
                now,
                Holders(
                    dead=SqlCallBudget(engine, clock=lambda: now[0], holder=holder_of(gone.pid)),
                    live=SqlCallBudget(engine, clock=lambda: now[0], holder=holder_of(alive.pid)),
                    ours=SqlCallBudget(engine, clock=lambda: now[0]),
                ),
            )
        finally:
            alive.kill()
            alive.wait()
    finally:
        engine.dispose()


def test_a_slot_a_dead_process_was_sleeping_on_is_taken_over(database_url: str) -> None:
    # Before (issue 10, the soaks): a hub killed while its pull slept on the next OR11 slot
    # left that slot reserved, so the restarted hub's first pull waited one period more
    # (restart to pulled, counted from the next free slot: a median 6.3 s, one period).
    minute = Budget(1, 60)
    with _holders(database_url) as (now, h):
        dead, live, ours = h.dead, h.live, h.ours
        assert ours.reserve("mirakl:a:OR11", minute) == 0.0  # called now
        now[0] += 10
        assert dead.reserve("mirakl:a:OR11", minute) == 50.0  # slept, and was killed
        # Its slot is still ahead, so it never called: the slot is ours, once.
        assert ours.reserve("mirakl:a:OR11", minute) == 50.0
        assert ours.reserve("mirakl:a:OR11", minute) == 110.0

        # A live sleeper keeps its slot.
        assert ours.reserve("mirakl:b:OR11", minute) == 0.0
        assert live.reserve("mirakl:b:OR11", minute) == 60.0
        assert ours.reserve("mirakl:b:OR11", minute) == 120.0

        # A dead process whose slot has come and that said it was calling may have
        # called before it died: kept.
        assert ours.reserve("mirakl:c:OR11", minute) == 0.0
        assert dead.reserve("mirakl:c:OR11", minute) == 60.0
        now[0] += 61
        dead.calling("mirakl:c:OR11")
        assert ours.reserve("mirakl:c:OR11", minute) == 59.0


def test_a_come_slot_a_dead_process_never_called_on_is_taken_over(database_url: str) -> None:
    # Before (issue 10, a 10-minute SQLite soak): a hub killed while its pull slept on the
    # next OR11 slot, restarted, booted past that slot: the slot had come, so it was kept
    # as maybe called, and the first pull waited one period more (6.2 s beyond the slot
    # in 3 restarts of 18 with no fault injected into OR11).
    minute = Budget(1, 60)
    with _holders(database_url) as (now, h):
        dead, live, ours = h.dead, h.live, h.ours
        ours.calling("mirakl:a:OR11")  # nothing reserved yet: nothing to say
        assert ours.reserve("mirakl:a:OR11", minute) == 0.0
        ours.calling("mirakl:a:OR11")
        assert dead.reserve("mirakl:a:OR11", minute) == 60.0  # slept, and was killed
        now[0] += 65  # its slot came 5 s ago, uncalled
        assert ours.reserve("mirakl:a:OR11", minute) == 0.0
        # Taken now, so the next slot is a whole period after now, not after the
        # dead one's slot: the calls stay a period apart.
        assert ours.reserve("mirakl:a:OR11", minute) == 60.0

        # A live holder whose slot came is about to call: kept.
        assert ours.reserve("mirakl:b:OR11", minute) == 0.0
        assert live.reserve("mirakl:b:OR11", minute) == 60.0
        now[0] += 61
        assert ours.reserve("mirakl:b:OR11", minute) == 59.0
