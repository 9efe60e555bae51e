"""Call budgets: how often one API endpoint may be called, and when the next call may go.

A budget of ``limit`` calls per ``period`` seconds is kept as evenly spaced slots, one
every ``period / limit`` seconds (the generic cell rate algorithm with no burst). Spacing
instead of bursting means no sliding window of ``period`` seconds ever holds more than
``limit`` calls, whatever the window's alignment, which is how Mirakl counts.

The whole state of a budget is one number, the *theoretical arrival time* (TAT) of the
next free slot, so it can be advanced atomically by a single SQL ``UPDATE`` shared by
every process of the hub.
"""

from __future__ import annotations

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


def reserve_slot(tat: float | None, now: float, budget: Budget) -> tuple[float, float]:
    """Reserve the next slot: return ``(seconds to wait, new TAT)``.

    ``tat`` is the stored theoretical arrival time (None for a budget never used).
    The slot is taken even if the caller must wait for it, so concurrent callers
    queue up behind each other instead of racing for the same slot.
    """
    start = now if tat is None else max(tat, now)
    return start - now, start + budget.interval
