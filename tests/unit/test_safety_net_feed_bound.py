"""How long a scheduled safety-net pass reads the shop feed (``workflows.pass_units._drive``).

``_drive`` is the workflow's body: it runs the units through ``call`` and bounds the feed
from the units' outputs alone, so these tests give it scripted outputs, as a replay after a
restart would.
"""

from __future__ import annotations

from typing import Any

from mirakl_sync.workflows.pass_units import _drive


class ScriptedUnits:
    """Unit outputs as a pass's steps would return them: every page moves the cursor on
    and takes ``work`` seconds; ``restart_before`` pages start after a downtime."""

    def __init__(self, pages: int, work: float, restart_before: dict[int, float]) -> None:
        self.pages, self.work, self.restart_before = pages, work, restart_before
        self.now = 1000.0
        self.read = 0

    def __call__(self, name: str, kind: str, *args: Any) -> Any:
        if name == "catch_up":
            return {"results": [], "handled": [], "at": self.now}
        if name == "start":
            return "2026-12-07T10:00:00Z"
        if name == "page":
            self.read += 1
            self.now += self.restart_before.get(self.read, 0.0)
            began = self.now
            self.now += self.work
            return {
                "results": [],
                "handled": [],
                "after": f"page-{self.read}",
                "last": self.read >= self.pages,
                "orders": 10,
                "failed": None,
                "advanced": True,
                "skipped": 0,
                "began": began,
                "at": self.now,
            }
        return {"results": [], "handled": []}


def test_a_pass_resumed_after_a_restart_reads_the_feed_for_its_bound_of_work() -> None:
    # Before (issue 10, the hour soak with a kill every 15-60 s): the bound was measured
    # from the first page's time, so a pass resumed after a kill found it spent by the
    # downtime, read one more page and stopped; with kills every minute the feed's cursor
    # fell 50 minutes behind. The bound counts the pages' own time, not the downtime.
    units = ScriptedUnits(pages=100, work=1.0, restart_before={3: 40.0})
    summary = _drive("shipments", units, feed_seconds=10.0)
    assert (summary["pages"], summary["complete"]) == (10, False), summary


def test_a_pass_stops_reading_the_feed_once_its_pages_took_the_bound() -> None:
    units = ScriptedUnits(pages=100, work=2.5, restart_before={})
    summary = _drive("shipments", units, feed_seconds=10.0)
    assert (summary["pages"], summary["complete"]) == (4, False), summary
    # A feed shorter than the bound is read to its end.
    short = _drive(
        "shipments", ScriptedUnits(pages=3, work=2.5, restart_before={}), feed_seconds=10.0
    )
    assert (short["pages"], short["complete"]) == (3, True), short
