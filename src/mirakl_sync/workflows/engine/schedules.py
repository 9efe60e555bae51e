"""How queues and schedules are described: :class:`RateLimit`, :class:`Schedule` and
the cron helper :func:`cron_every`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypedDict


class RateLimit(TypedDict):
    """At most ``limit`` workflow starts within any rolling window of ``period`` seconds."""

    limit: int
    period: float


def cron_every(seconds: float, *, slot: int = 0, slots: int = 1) -> str:
    """A 6-field cron firing about every ``seconds`` (rounded to what cron can say).

    ``slot`` of ``slots`` staggers schedules of the same period: marketplace ``slot``
    fires ``slot / slots`` of a period after the first. The pulls of three marketplaces
    on the default 60 s then land 20 s apart, and their orders reach the shared queue as
    three small batches instead of one large one (each decided sooner).
    """
    whole = max(1, round(seconds))
    if whole < 60:
        divisor = max(d for d in range(1, 61) if 60 % d == 0 and d <= whole)
        offset = (slot * divisor) // max(1, slots)
        return f"*/{divisor} * * * * *" if offset == 0 else f"{offset}-59/{divisor} * * * * *"
    minutes = max(1, round(whole / 60))
    second = (slot * 60) // max(1, slots) if minutes == 1 else 0
    if minutes < 60:
        divisor = max(d for d in range(1, 61) if 60 % d == 0 and d <= minutes)
        return f"{second} */{divisor} * * * *"
    return "0 0 * * * *"


@dataclass(frozen=True)
class Schedule:
    """A cron schedule (6 fields allowed: seconds first) that starts ``workflow_fn``.

    ``workflow_fn`` must be a :func:`workflow` taking ``(scheduled_time: datetime,
    context: Any)``. Each tick fires once across all processes (deduplicated in the
    database).
    """

    name: str
    workflow_fn: Callable[..., Any]
    cron: str
    queue_name: str | None = None
    context: Any = None
    timezone: str | None = None
    automatic_backfill: bool = False
