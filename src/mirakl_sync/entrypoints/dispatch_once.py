"""``mirakl-sync sync shipments|refunds --once``: one safety-net pass, run directly, and
its one-line summary."""

from __future__ import annotations

from collections import Counter

from mirakl_sync.config import Settings
from mirakl_sync.workflows.pass_sources import REFUNDS, SHIPMENTS
from mirakl_sync.workflows.safety_net import _shipment_results, direct_pass


def _summary(what: str, statuses: list[str], unchanged: int = 0) -> str:
    counts = Counter(statuses)
    detail = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    line = f"{what}: {len(statuses)} checked" + (f" ({detail})" if detail else "")
    if unchanged:
        orders = "order" if unchanged == 1 else "orders"
        line += f"; {unchanged} shop {orders} read again with nothing new since the last pass"
    return line


def run_shipments_once(settings: Settings) -> None:
    """``mirakl-sync sync shipments --once``: one full pass, done when it returns.

    The pass does its work itself (no workflow is left running): shipments sent,
    cancellations sent, exceptions recorded. Prints a one-line summary.
    """
    summary = direct_pass(SHIPMENTS, settings, recheck=True)
    statuses = [r.status.value for r in _shipment_results(summary)]
    print(_summary("shipments", statuses, summary["unchanged"]))


def run_refunds_once(settings: Settings) -> None:
    """``mirakl-sync sync refunds --once``: one full pass (Shopify refunds, line
    cancellations, Supercycle returns per the trigger); prints a one-line summary.

    ``refund_state`` is followed by the scheduled workflows, not by this one pass.
    """
    summary = direct_pass(REFUNDS, settings, recheck=True)
    statuses = [str(r) for r in summary["results"]]
    print(_summary("refund sources", statuses, summary["unchanged"]))
