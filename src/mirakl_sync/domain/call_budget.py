"""Call budgets: how often one API endpoint may be called, and when the next call may go.

A budget of ``limit`` calls per ``period`` seconds is kept as evenly spaced slots, one
every ``period / limit`` seconds (the generic cell rate algorithm with no burst). Spacing
instead of bursting means no sliding window of ``period`` seconds ever holds more than
``limit`` calls, whatever the window's alignment, which is how Mirakl counts.

The whole state of a budget is one number, the *theoretical arrival time* (TAT) of the
next free slot, so it can be advanced atomically by a single SQL ``UPDATE`` shared by
every process of the hub.

**The wait bound** (issue 9). A caller says how long it may wait (``max_wait``), and a
slot is taken only under two conditions:

- it opens within ``max_wait`` seconds, so no step or ``--once`` cycle ever sleeps longer
  than the bound (before, a third concurrent SH21 look-up slept two days);
- if it opens later than now, the budget's interval is itself within the bound
  (``hold_limit``). A once-a-day budget is therefore only ever taken when its slot is free
  *now*, and the call follows at once; a caller that finds it spent is told when it opens
  (and may wait for it, holding nothing, if that is within its bound).

So nothing is ever reserved further ahead than the bound, and nothing is held for a slot
longer than one interval of a short budget. A process that dies while it waits holds at
most slots that lapse within the bound; it can never push a once-a-day slot out by a day,
which is what every crash used to do (the reservation of a sleeping, then killed, process
was never given back).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Budget:
    """At most ``limit`` calls in any ``period`` seconds."""

    limit: int
    period: float

    def __post_init__(self) -> None:
        if self.limit < 1 or self.period < 0:
            raise ValueError(f"invalid budget {self.limit}/{self.period}s")

    @property
    def interval(self) -> float:
        """Seconds between two slots."""
        return self.period / self.limit

    def scaled(self, factor: float) -> Budget:
        """The same budget with its period multiplied by ``factor`` (0 lifts it)."""
        return Budget(self.limit, self.period * factor)

    def __str__(self) -> str:
        return f"{self.limit} per {self.period:g}s"


@dataclass(frozen=True)
class Slot:
    """The outcome of asking for a slot."""

    #: Seconds from now until the slot opens (the caller sleeps this long if ``taken``).
    wait: float
    #: Whether the slot is now the caller's; if not, the stored TAT is unchanged.
    taken: bool
    #: The TAT after the decision (advanced by one interval when ``taken``).
    tat: float


def hold_limit(budget: Budget, max_wait: float | None) -> float:
    """The longest wait for which a slot may be taken ahead and slept on.

    ``max_wait`` None means no bound (the old behaviour, for callers that truly may
    queue). A budget whose interval exceeds the bound is taken only when free now.
    """
    if max_wait is None:
        return math.inf
    return max_wait if budget.interval <= max_wait else 0.0


def reserve_slot(
    tat: float | None, now: float, budget: Budget, max_wait: float | None = None
) -> Slot:
    """Take the next slot if it opens within ``hold_limit(budget, max_wait)``.

    ``tat`` is the stored theoretical arrival time (None for a budget never used).
    A slot within the limit is taken even if the caller must wait for it, so
    concurrent callers queue up behind each other instead of racing for it.
    """
    start = now if tat is None else max(tat, now)
    wait = start - now
    if wait > hold_limit(budget, max_wait):
        return Slot(wait, False, start if tat is None else tat)
    return Slot(wait, True, start + budget.interval)
