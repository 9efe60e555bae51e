"""The order pull schedules: the period each marketplace asked for, staggered between them."""

from __future__ import annotations

from datetime import datetime

import pytest
from croniter import croniter  # what the engine (DBOS) reads schedules with

from mirakl_sync.workflows.engine import cron_every


def _fires(cron: str, count: int = 3) -> list[str]:
    it = croniter(cron, datetime(2026, 11, 27, 12, 0, 0), second_at_beginning=True)
    return [it.get_next(datetime).strftime("%H:%M:%S") for _ in range(count)]


@pytest.mark.parametrize(
    ("seconds", "slot", "slots", "fires"),
    [
        # The default 60 s, three marketplaces: 20 s apart, each once a minute.
        (60, 0, 3, ["12:01:00", "12:02:00", "12:03:00"]),
        (60, 1, 3, ["12:00:20", "12:01:20", "12:02:20"]),
        (60, 2, 3, ["12:00:40", "12:01:40", "12:02:40"]),
        # Sub-minute periods stagger inside the period.
        (30, 1, 3, ["12:00:10", "12:00:40", "12:01:10"]),
        (1, 2, 3, ["12:00:01", "12:00:02", "12:00:03"]),
        # Periods cron cannot say round to one it can (7 s -> every 6 s).
        (7, 0, 1, ["12:00:06", "12:00:12", "12:00:18"]),
        # Longer periods are not staggered: one pull every 5 minutes, on the minute.
        (300, 1, 3, ["12:05:00", "12:10:00", "12:15:00"]),
    ],
)
def test_pull_schedules_fire_every_period_staggered_by_marketplace(
    seconds: float, slot: int, slots: int, fires: list[str]
) -> None:
    assert _fires(cron_every(seconds, slot=slot, slots=slots)) == fires
