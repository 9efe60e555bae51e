"""The safety-net passes: what the webhooks may have missed, polled every 5 minutes.

(The period is ``[safety_net] poll_seconds``; both passes also run when the hub starts.)

Webhooks carry fulfilments, refunds and cancellations at once, but Shopify does not
guarantee them (and none arrive while the hub is down), so two scheduled passes poll:

* ``shipments-poll``: the fulfilments and whole-order cancellations of every shop order
  changed since the flow's cursor, shipped or not (``services.shop_feed``), fulfilled
  Supercycle cycles (``services.cycle_feed``), then the records of earlier passes that
  failed and are due again (``services.pass_failures``);
* ``refunds-poll``: the refunds and line cancellations of the changed shop orders,
  Supercycle returns per the trigger (``services.return_feed``), then the due retries.

**A pass is a chain of small units, each a durable step** (issue 10): the adoption
catch-up; one unit per page of the shop feed (the feed's cursor moves past each page
handled; an order re-read with nothing new since a pass handled it is skipped); one per
other source (Supercycle cycles or returns); the due retries; and, for ``--once`` only,
the orders of the exceptions a person fixed (``recheck_unit``). So:

* a record that fails is an exception its service records, kept for a later pass; a
  page Shopify does not answer ends the feed for this pass (its cursor stays: the next
  pass reads from there) and the other units still run;
* a unit that raises anything else (a bug, a fault no service handles) is retried by
  its step, then recorded as ``poll_step_failed`` and skipped: the pass carries on and
  ends cleanly (a page skipped so leaves the cursor before it, so the next pass reads it
  again);
* a pass killed mid-way resumes from its last finished unit (DBOS replays the finished
  steps' results, the cursor is in the store): a kill costs one unit's retry;
* at most one pass of each kind runs: a tick that finds an older pass of its kind still
  queued or running (a slow pass, or one resumed after a restart) ends at once,
  ``skipped``, so passes never pile up behind one another.

Every write the units make re-reads Mirakl first or is keyed by its source (OR28 bound
per refund source, dispatch re-reads the order, OR29/OR30 re-read it), so a unit run
twice sends nothing twice. ``run_shipments_cycle`` / ``run_refunds_cycle`` run the same
units in order, directly (no engine), for ``mirakl-sync sync shipments|refunds --once``
(``entrypoints.dispatch_once``). The units themselves are in ``workflows.pass_units``.

The units run over the dispatch services of the process's flow context
(``workflows.flow_context``). A pass never replaces the context (closing the hub other
steps use): ``run_*_cycle`` with other settings than the context's builds a context of its
own for that pass and closes only that one.
"""

from __future__ import annotations

import asyncio
import math
import os
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack, contextmanager
from datetime import datetime
from typing import Any

import structlog

from mirakl_sync.bootstrap import bootstrap
from mirakl_sync.config import SafetyNetSettings, Settings
from mirakl_sync.services.dispatch_types import (
    DispatchResult,
    DispatchStatus,
)
from mirakl_sync.workflows.engine import (
    ENQUEUED,
    PENDING,
    Engine,
    Schedule,
    cron_every,
    current_workflow_id,
    step,
    workflow,
)
from mirakl_sync.workflows.flow_context import FlowContext, current_flow_context, flow_context
from mirakl_sync.workflows.pass_sources import REFUNDS, SHIPMENTS
from mirakl_sync.workflows.pass_units import (
    _UNITS,
    CRASH_AFTER_PAGES_ENV,
    FEED_SHARE,
    POLL_WORKFLOWS,
    UNIT_RETRIES,
    UNIT_RETRY_SECONDS,
    _drive,
    _run,
)

log = structlog.get_logger(__name__)


log = structlog.get_logger(__name__)


# --------------------------------------------------------------------------- scheduled passes


def _step_of(name: str, *, retries: int = UNIT_RETRIES) -> Callable[..., Any]:
    @step(name=f"mirakl_sync.poll.{name}", retries=retries, interval_seconds=UNIT_RETRY_SECONDS)
    def run_unit(kind: str, *args: Any) -> Any:
        return _run(lambda kit: _UNITS[name](kit, kind, *args))

    return run_unit


_STEPS: dict[str, Callable[..., Any]] = {
    name: _step_of(name, retries=0 if name in ("unit_failed", "pass_done") else UNIT_RETRIES)
    for name in _UNITS
}


#: The engine of this process (``register``): the claim reads its workflow list.
def use_engine(engine: Engine) -> None:
    """The engine whose workflows a pass's claim looks at, on the flow context (the
    runtime's has it; a test that starts passes itself, without their schedules, too)."""
    flow_context().engine = engine


@step(name="mirakl_sync.poll.claim")
def claim_step(kind: str, workflow_id: str) -> bool:
    """Whether this pass may run: no older pass of its kind is queued or running."""
    context = current_flow_context()
    engine = context.engine if context is not None else None
    if engine is None:
        return True
    live = engine.list_workflows(
        status=[PENDING, ENQUEUED], name=POLL_WORKFLOWS[kind], load_output=False
    )
    own = next((w for w in live if w.workflow_id == workflow_id), None)
    mine = own.created_at_ms or 0 if own is not None else None
    # A pass started no later than this one goes on and this one skips. Creation times
    # may have whole-second resolution (SQLite), so two ticks started in the same second
    # would both skip; ticks of one schedule are minutes apart, and a pass resumed after
    # a restart was created long before the tick that finds it.
    older = [
        w.workflow_id
        for w in live
        if w.workflow_id != workflow_id and (mine is None or (w.created_at_ms or 0) <= mine)
    ]
    if older:
        log.info("safety_net.pass_skipped", kind=kind, running=older[0])
    return not older


def _scheduled_pass(kind: str, context: Any) -> dict[str, Any]:
    workflow_id = current_workflow_id() or ""
    if not claim_step(kind, workflow_id):
        return {"kind": kind, "skipped": True, "checked": 0, "complete": False}
    crash = int(os.environ.get(CRASH_AFTER_PAGES_ENV) or 0)
    summary = _drive(
        kind,
        lambda name, *args: _STEPS[name](*args),
        crash_after_pages=crash,
        feed_seconds=_feed_seconds(context),
    )
    # The per-record results stay in the steps' checkpoints; the workflow keeps the counts.
    summary["statuses"] = dict(Counter(_status(r) for r in summary.pop("results")))
    return summary


def feed_seconds_for(poll_seconds: float) -> float:
    """A scheduled pass reads the shop feed for half its period at most (the rest of the
    period is for the other units; ``--once`` passes read it all)."""
    return FEED_SHARE * poll_seconds


def _feed_seconds(context: Any) -> float:
    """The feed bound a pass was scheduled with: its schedule's context, a workflow input,
    so a pass recovered after a restart replays with the bound it started with, even if
    ``poll_seconds`` changed meanwhile (read from the config in the body, a replay could
    stop at another page than the first run did). A tick of a schedule applied by an
    older release carries no bound: such a pass reads the whole feed."""
    if isinstance(context, dict) and isinstance(context.get("feed_seconds"), int | float):
        return float(context["feed_seconds"])
    return math.inf


def _status(result: Any) -> str:
    return str(result["status"]) if isinstance(result, dict) else str(result)


@workflow(name=POLL_WORKFLOWS[SHIPMENTS])
def shipments_poll(scheduled_time: datetime, context: Any) -> dict[str, Any]:
    return _scheduled_pass(SHIPMENTS, context)


@workflow(name=POLL_WORKFLOWS[REFUNDS])
def refunds_poll(scheduled_time: datetime, context: Any) -> dict[str, Any]:
    return _scheduled_pass(REFUNDS, context)


SHIPMENTS_SCHEDULE = "shipments-poll"
REFUNDS_SCHEDULE = "refunds-poll"


def pass_crons(poll_seconds: float) -> tuple[str, str]:
    """The shipments and refunds passes' crons: every ``poll_seconds``, the refunds pass
    half a period later (so the two never start in the same second)."""
    shipments = cron_every(poll_seconds)
    if round(poll_seconds) < 60:
        return shipments, cron_every(poll_seconds, slot=1, slots=2)
    return shipments, "30 " + shipments.split(" ", 1)[1]


def register(engine: Engine, settings: SafetyNetSettings) -> list[str]:
    """Schedule the safety-net passes (``[safety_net] poll_seconds``) and, unless told not
    to, run both at once: webhooks sent while the hub was down had nowhere to land
    (issue 10: fulfilments made just before a kill were sent only at the next 5-minute
    tick). A pass a previous incarnation left running is carried on instead (the new one
    finds it and skips, ``claim_step``). Returns the workflow IDs of the start passes."""
    use_engine(engine)
    shipments_cron, refunds_cron = pass_crons(settings.poll_seconds)
    context = {"feed_seconds": feed_seconds_for(settings.poll_seconds)}
    engine.apply_schedules(
        [
            Schedule(SHIPMENTS_SCHEDULE, shipments_poll, shipments_cron, context=context),
            Schedule(REFUNDS_SCHEDULE, refunds_poll, refunds_cron, context=context),
        ]
    )
    if not settings.pass_at_start:
        return []
    return [engine.trigger_schedule(name) for name in (SHIPMENTS_SCHEDULE, REFUNDS_SCHEDULE)]


# --------------------------------------------------------------------------- direct passes


@contextmanager
def _pass_context(settings: Settings) -> Iterator[FlowContext]:
    """The process's flow context when it holds ``settings``; else a context of this pass
    alone, closed after it (the process's hub, which other steps may be using, is never
    closed by a pass)."""
    context = current_flow_context()
    if context is not None and context.settings == settings:
        yield context
        return
    own = FlowContext(settings, bootstrap(settings))
    try:
        yield own
    finally:
        own.close()


def direct_pass(kind: str, settings: Settings, *, recheck: bool = False) -> dict[str, Any]:
    """One pass's units called in order on one bundle of services (no engine, nothing
    checkpointed); ``recheck`` for the operator's ``--once`` (``recheck_unit``)."""
    with _pass_context(settings) as context:
        loop = asyncio.new_event_loop()
        try:
            stack = AsyncExitStack()
            services = loop.run_until_complete(
                stack.enter_async_context(context.hub.dispatch_services(context.clock))
            )
            try:
                return _drive(
                    kind,
                    lambda name, *args: loop.run_until_complete(_UNITS[name](services, *args)),
                    recheck=recheck,
                )
            finally:
                loop.run_until_complete(stack.aclose())
        finally:
            loop.close()


def run_shipments_cycle(settings: Settings) -> list[DispatchResult]:
    """One shipments pass (see the module docstring), run directly: every fulfilment it
    checked, in order."""
    return _shipment_results(direct_pass(SHIPMENTS, settings))


def _shipment_results(summary: dict[str, Any]) -> list[DispatchResult]:
    return [
        DispatchResult(**{**r, "status": DispatchStatus(r["status"])}) for r in summary["results"]
    ]


def run_refunds_cycle(settings: Settings) -> list[str]:
    """One refunds pass, run directly: the status of every refund source it checked."""
    return [str(r) for r in direct_pass(REFUNDS, settings)["results"]]
