"""Call budgets and single-flight claims shared by every process through the store.

**Budgets.** One atomic ``UPDATE ... RETURNING`` advances a budget's next free slot, so
any number of workers on one database can never call an endpoint more often than its
budget.

**The wait bound and dead processes** (issue 9). ``reserve(..., max_wait=)`` takes a slot
only where ``domain.call_budget.hold_limit`` allows it, in the same atomic statement
(``WHERE tat <= now + limit``): never a slot further ahead than the bound, and a budget
whose interval exceeds the bound (every once-a-day call) only when its slot is free now.
Otherwise nothing is written and ``CallBudgetExhaustedError`` says when the slot opens.
Why this design rather than releasing reservations: a reservation cannot be "given back"
safely once its HTTP request may have reached Mirakl (Mirakl counted it), and a process
that is killed cannot give anything back at all. Instead nothing is reserved that a dead
process could hold for long: a once-a-day slot is taken only by a caller about to call at
once, and a short budget's slots held by a dead sleeper lapse within the bound. Before,
the third of three concurrent SH21 look-ups reserved the slot two days ahead and slept on
it; killed, it left the budget there, and each crash added a day.

**Claims** (``SqlClaims``). Single flight across processes for cached look-ups: a claim is
a row of the same table under ``claim:<key>`` whose ``tat`` is the lease's expiry. Whoever
takes it makes the request; the others read the store for its answer. A claim is released
when its request ends, and one left by a dead process expires with its lease.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from mirakl_sync.adapters.call_budget import slot_unavailable
from mirakl_sync.adapters.process_identity import holder_is_gone, holder_of
from mirakl_sync.adapters.store.tables import call_budgets
from mirakl_sync.domain.call_budget import Budget, hold_limit
from mirakl_sync.errors import CallBudgetExhaustedError
from mirakl_sync.services.ports import Clock

#: Attempts to settle a race (the row created or moved by another process meanwhile).
_RACE_ATTEMPTS = 5


class _HeldRows:
    """Rows of ``call_budgets`` that name the process holding them (``holder_of``), so a
    holder that no longer runs (``is_gone``) can be told for certain."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock = time.time,
        *,
        holder: str | None = None,
        is_gone: Callable[[str], bool] = holder_is_gone,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._holder = holder or holder_of()
        self._is_gone = is_gone


class SqlCallBudget(_HeldRows):
    """Budgets, see the module docstring. Each reservation names its holder
    (``holder_of``) until the holder says it calls (``calling``): a slot whose holder is
    still named, and is a process of this host and PID space that no longer runs, was
    never called, so the next caller takes it instead of queueing a period behind it.
    Before (issue 10, the soaks), a hub killed while its pull slept on the next OR11 slot
    made the restarted hub's first pull wait one period more."""

    @property
    def _greatest(self) -> Any:
        # SQLite's two-argument max() is PostgreSQL's greatest().
        return func.max if self._engine.dialect.name == "sqlite" else func.greatest

    def reserve(self, key: str, budget: Budget, *, max_wait: float | None = None) -> float:
        """Take the next slot within the bound; return the seconds to wait before calling.

        Raises ``CallBudgetExhaustedError`` (budget unchanged) when ``hold_limit`` does not
        allow the next slot.
        """
        for _ in range(_RACE_ATTEMPTS):
            now = self._clock()
            interval = budget.interval
            limit = hold_limit(budget, max_wait)
            taken = self._take_over(key, interval, now, limit)
            if taken is not None:
                if taken < 0:
                    continue  # the row moved meanwhile: ask again
                return taken
            statement = (
                update(call_budgets)
                .where(call_budgets.c.key == key)
                .values(tat=self._greatest(call_budgets.c.tat, now) + interval, holder=self._holder)
                .returning(call_budgets.c.tat)
            )
            if not math.isinf(limit):
                statement = statement.where(call_budgets.c.tat <= now + limit)
            with self._engine.begin() as connection:
                new_tat = connection.execute(statement).scalar_one_or_none()
            if new_tat is not None:
                return max(0.0, float(new_tat) - interval - now)
            stored = self._tat(key)
            if stored is None:
                try:
                    with self._engine.begin() as connection:
                        connection.execute(
                            insert(call_budgets).values(
                                key=key, tat=now + interval, holder=self._holder
                            )
                        )
                    return 0.0
                except IntegrityError:
                    continue  # another process created the row first: queue behind it
            if stored - now > limit:
                raise slot_unavailable(key, budget, max(stored, now), max(0.0, stored - now))
            # The slot came within reach between the two statements: ask again.
        raise CallBudgetExhaustedError(
            f"{key}: the budget row kept changing under {_RACE_ATTEMPTS} attempts; try again",
            key=key,
            next_slot_at=self._clock(),
        )

    def _take_over(self, key: str, interval: float, now: float, limit: float) -> float | None:
        """The wait for the latest slot if a dead holder never called on it and it is ours
        now (compare and set on the row as read); None if not such a slot, -1 on a race.

        A holder that called said so first (:meth:`calling` clears the holder), so a
        holder still named is one that had not called. A slot still ahead is taken as it
        is; one that came while its holder was dead (a restart booting past it) is taken
        now, and the next slot moves to a period after now so calls stay a period apart.
        """
        with self._engine.connect() as connection:
            row = connection.execute(
                select(call_budgets.c.tat, call_budgets.c.holder).where(call_budgets.c.key == key)
            ).first()
        if row is None or row.holder is None or row.holder == self._holder:
            return None
        tat = float(row.tat)
        slot = tat - interval
        if tat <= now or slot - now > limit or not self._is_gone(row.holder):
            return None  # free anyway, out of reach, or its holder is alive
        taken = max(slot, now)
        statement = (
            update(call_budgets)
            .where(call_budgets.c.key == key)
            .where(call_budgets.c.tat == row.tat, call_budgets.c.holder == row.holder)
            .values(holder=self._holder, tat=taken + interval)
        )
        with self._engine.begin() as connection:
            if connection.execute(statement).rowcount != 1:
                return -1.0
        return taken - now

    def calling(self, key: str) -> None:
        """This process calls on its latest slot of ``key`` now: it no longer holds it, so
        nobody takes it over should the process die mid-call (Mirakl counted the call)."""
        statement = (
            update(call_budgets)
            .where(call_budgets.c.key == key, call_budgets.c.holder == self._holder)
            .values(holder=None)
        )
        with self._engine.begin() as connection:
            connection.execute(statement)

    def try_reserve(self, key: str, budget: Budget) -> bool:
        """Take a slot only if one is free right now; never queue behind others."""
        try:
            self.reserve(key, budget, max_wait=0.0)
        except CallBudgetExhaustedError:
            return False  # the budget exists and its next slot is in the future
        return True

    def next_slot_at(self, key: str) -> float | None:
        """When ``key``'s next slot opens (epoch seconds; None for a budget never used)."""
        return self._tat(key)

    def _tat(self, key: str) -> float | None:
        with self._engine.connect() as connection:
            value = connection.execute(
                select(call_budgets.c.tat).where(call_budgets.c.key == key)
            ).scalar_one_or_none()
        return None if value is None else float(value)


class SqlClaims(_HeldRows):
    """Short leases on a key, shared by every process on the database (single flight).

    A claim names its holder (``holder_of``). One whose holder is a process of this host
    and PID space that no longer runs lapses at once: before (issue 10), a process killed
    while it read a reference list kept its claim for the whole lease (900 s), and every
    other process waited a minute on it at each look-up."""

    PREFIX = "claim:"

    def _row(self, key: str) -> tuple[float, str | None] | None:
        with self._engine.connect() as connection:
            row = connection.execute(
                select(call_budgets.c.tat, call_budgets.c.holder).where(
                    call_budgets.c.key == self.PREFIX + key
                )
            ).first()
        return None if row is None else (float(row.tat), row.holder)

    def _live(self, row: tuple[float, str | None] | None) -> bool:
        if row is None or row[0] <= self._clock():
            return False
        return row[1] is None or not self._is_gone(row[1])

    def claim(self, key: str, lease_seconds: float) -> float | None:
        """Take ``key`` for ``lease_seconds`` unless a live claim holds it.

        Returns the claim's token (pass it to :meth:`release`), or None when held.
        """
        row_key = self.PREFIX + key
        now = self._clock()
        expiry = now + lease_seconds
        current = self._row(key)
        if self._live(current):
            return None
        taken = update(call_budgets).values(tat=expiry, holder=self._holder)
        if current is not None:
            # Compare and set on the row as read: a claim another process took meanwhile
            # is left alone.
            statement = taken.where(call_budgets.c.key == row_key, call_budgets.c.tat == current[0])
            with self._engine.begin() as connection:
                return expiry if connection.execute(statement).rowcount == 1 else None
        try:
            with self._engine.begin() as connection:
                connection.execute(
                    insert(call_budgets).values(key=row_key, tat=expiry, holder=self._holder)
                )
        except IntegrityError:
            return None  # a live claim holds it
        return expiry

    def held(self, key: str) -> bool:
        """Whether a live claim holds ``key`` now."""
        return self._live(self._row(key))

    def release(self, key: str, token: float) -> None:
        """End our claim (a claim that expired and was taken by another is left alone)."""
        statement = (
            update(call_budgets)
            .where(call_budgets.c.key == self.PREFIX + key, call_budgets.c.tat == token)
            .values(tat=self._clock())
        )
        with self._engine.begin() as connection:
            connection.execute(statement)
