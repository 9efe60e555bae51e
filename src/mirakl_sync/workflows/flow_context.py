"""The flow context: what the durable steps of this process read, set once per process.

A step runs in the process that registered it, with nothing but its arguments, so what
it needs besides them (the settings, the hub, the engine, the clock) comes from here.
The runtime sets the context at launch, before it registers the flows
(``workflows.runtime.start_runtime``) and closes it when it stops; a ``--once`` runner or
a test sets one for its duration with :func:`using_flow_context`. Nothing is rebuilt per
step or per pass: the one hub's database pool and its clients' cost buckets serve every
step and webhook of the process (a hub per call leaked pools and cost a connect each).

Before (issue 11), each flow kept its own module-level state: a list of runtimes for the
orders, a config object for dispatch (whose polls closed the shared hub at every pass)
and three dictionaries for stock, with two ``configure()`` functions and none for stock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from mirakl_sync.bootstrap import DispatchServices, Hub
from mirakl_sync.config import Settings

if TYPE_CHECKING:
    from mirakl_sync.services.stock_snapshot import SourceModel
    from mirakl_sync.workflows.engine import Engine

T = TypeVar("T")

#: Seconds between tries while an order waits for its debit (dispatch, refunds).
WAIT_SECONDS = 60.0
#: Seconds between refund_state reads of a refund sent.
FOLLOW_SECONDS = 300.0


class Stoppable(Protocol):
    """A background thread a flow starts for the context (the order pull monitor)."""

    def stop(self) -> None: ...


@dataclass
class FlowContext:
    """See the module docstring. Built by the runtime, a ``--once`` runner or a test."""

    settings: Settings
    hub: Hub
    #: The engine of this process; None where steps run without one (direct passes).
    engine: Engine | None = None
    #: The flows' clock, in epoch seconds (tests on a fake clock give theirs).
    clock: Callable[[], float] = time.time
    #: A ``sync orders --once`` run: a pull that fails is reported at once, not retried
    #: on the once-a-minute budget, and its work goes on the run's own queue.
    once: bool = False
    #: Dispatch: between tries while an order waits for its debit, and between reads of
    #: a refund's state (tests shorten them).
    wait_seconds: float = WAIT_SECONDS
    follow_seconds: float = FOLLOW_SECONDS
    #: Stock: the source as this process last read it (the last full read and its
    #: incremental patches); None after a start, so a process's first tick is a full read.
    stock_model: SourceModel | None = None
    #: Threads started for this context, stopped when it closes.
    background: list[Stoppable] = field(default_factory=list)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def run_dispatch(self, body: Callable[[DispatchServices], Coroutine[Any, Any, T]]) -> T:
        """``body`` over the dispatch flows' services of this hub, on a loop of its own
        (a step never shares the engine's event loop)."""

        async def main() -> T:
            async with self.hub.dispatch_services(self.clock) as services:
                return await body(services)

        return asyncio.run(main())

    def close(self) -> None:
        """Stop what was started for this context and close its hub."""
        while self.background:
            self.background.pop().stop()
        self.hub.close()


#: The process's context last: the runtime's (or a test's), and above it any a ``--once``
#: runner or a test put there for the length of a block.
_CONTEXTS: list[FlowContext] = []


def flow_context() -> FlowContext:
    """This process's context; an error that says what to do when none is set."""
    if not _CONTEXTS:
        raise RuntimeError(
            "no flow context in this process: the runtime sets one at launch "
            "(workflows.runtime.start_runtime); a --once runner or a test uses "
            "workflows.flow_context.using_flow_context(FlowContext(settings, hub))"
        )
    return _CONTEXTS[-1]


def current_flow_context() -> FlowContext | None:
    """This process's context, or None (for callers that can do without one)."""
    return _CONTEXTS[-1] if _CONTEXTS else None


def set_flow_context(context: FlowContext) -> FlowContext:
    """Make ``context`` this process's only context; any set before is closed."""
    clear_flow_context()
    _CONTEXTS.append(context)
    return context


def clear_flow_context() -> None:
    """Close and forget every context of this process."""
    while _CONTEXTS:
        _CONTEXTS.pop().close()


@contextmanager
def using_flow_context(context: FlowContext) -> Iterator[FlowContext]:
    """``context`` for the duration of the block, then closed; the one before (if any)
    is this process's context again."""
    _CONTEXTS.append(context)
    try:
        yield context
    finally:
        if context in _CONTEXTS:
            _CONTEXTS.remove(context)
            context.close()
