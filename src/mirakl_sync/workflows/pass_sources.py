"""Where the safety-net passes read besides the shop feed: Supercycle's fulfilled cycles
and return orders, each from its cursor, and the pass records that name a source."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from mirakl_sync.domain.exception_types import ExceptionType
from mirakl_sync.domain.exceptions import OwnerTeam
from mirakl_sync.services.cycle_feed import cycle_fulfilments
from mirakl_sync.services.dispatch_types import RETRY_SHIPMENTS, Fulfilment
from mirakl_sync.services.pass_failures import (
    PassFailures,
    PassRecord,
)
from mirakl_sync.services.refunds import RETRY_REFUNDS, RefundSource
from mirakl_sync.services.return_feed import due_refunds

if TYPE_CHECKING:
    from mirakl_sync.bootstrap import DispatchServices

T = TypeVar("T")

SHIPMENTS = "shipments"
REFUNDS = "refunds"
_RETRY = {SHIPMENTS: RETRY_SHIPMENTS, REFUNDS: RETRY_REFUNDS}
#: Fulfilled cycles are read from the last pass minus this overlap (a cycle updated
#: while a pass ran is read again; dispatch ships nothing twice).
CYCLES_OVERLAP = timedelta(hours=1)
#: Changed return orders are read from the last pass minus this overlap (as cycles).
RETURNS_OVERLAP = timedelta(hours=1)
#: How far back the first pass reads fulfilled cycles.
CYCLES_FIRST_LOOKBACK = timedelta(days=7)


async def collect_cycle_fulfilments(kit: DispatchServices) -> list[Fulfilment]:
    """Fulfilled Supercycle cycles of marketplace orders, since the last pass."""
    if kit.returns is None:
        return []
    cursors = kit.cursors
    now = datetime.fromtimestamp(kit.clock(), UTC)
    last = cursors.get("dispatch-cycles", "supercycle")
    since = datetime.fromisoformat(last) - CYCLES_OVERLAP if last else now - CYCLES_FIRST_LOOKBACK
    found = await cycle_fulfilments(kit.returns, kit.index, since)
    cursors.put("dispatch-cycles", "supercycle", now.isoformat(), now)
    return found


async def refund_supercycle_returns(
    kit: DispatchServices, send: Callable[[RefundSource], Awaitable[str]] | None = None
) -> list[str]:
    """Refunds for Supercycle return lines due per the trigger: every return order on the
    first pass, then those changed since the last pass (minus an overlap); the cursor
    moves only once every refund of the pass was handled (a refund that failed is an
    exception the next passes retry, see ``services.pass_failures``). ``send`` sends one
    refund source and returns its status (default: ``RefundService.refund_in_pass``)."""
    if kit.returns is None:
        return []
    cursors = kit.cursors
    now = datetime.fromtimestamp(kit.clock(), UTC)
    last = cursors.get("refunds-returns", "supercycle")
    since = datetime.fromisoformat(last) - RETURNS_OVERLAP if last else None
    sources = await due_refunds(kit.returns, kit.index, kit.hub.settings.refunds, since)

    async def in_pass(source: RefundSource) -> str:
        return (await kit.refunds.refund_in_pass(source)).status.value

    out = [await (send or in_pass)(source) for source in sources]
    cursors.put("refunds-returns", "supercycle", now.isoformat(), now)
    return out


def _source(name: str, scope: str, what: str, retry: str) -> PassRecord:
    """A source a pass reads, as the exception recorded when it does not answer."""
    return PassRecord(
        type=ExceptionType.POLL_SOURCE_UNREADABLE,
        owner=OwnerTeam.OPS,
        doing=f"reading {what} for the {scope} pass (its cursor stays: the next pass reads "
        "it again)",
        retry=retry,
        entity_type="source",
        entity_id=f"{name}:{scope}",
    )


def _shop_source(kind: str) -> PassRecord:
    return _source("shopify-changes", kind, "the shop's changed orders (Shopify)", _RETRY[kind])


def _unit_record(kind: str, name: str, label: str = "") -> PassRecord:
    """A unit of a pass, as the exception recorded when it raised (``poll_step_failed``);
    one exception per kind and unit (every page shares one)."""
    return PassRecord(
        type=ExceptionType.POLL_STEP_FAILED,
        owner=OwnerTeam.OPS,
        doing=f"{label or name} of the {kind} pass",
        retry=_RETRY[kind],
        entity_type="poll",
        entity_id=f"{kind}:{name}",
    )


async def _read_source(
    kit: DispatchServices, item: PassRecord, read: Callable[[], Awaitable[list[T]]]
) -> list[T]:
    """``read()``, or nothing when the source does not answer (an exception for ops, and
    the pass carries on with the rest)."""
    outcome = await PassFailures(kit.hub.store.exception_log, kit.clock).attempt(item, read)
    return [] if isinstance(outcome, str) else outcome
