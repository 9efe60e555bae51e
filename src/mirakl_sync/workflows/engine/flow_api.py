"""The flow-side API: the :func:`workflow` and :func:`step` decorators, durable sleep,
starting and enqueuing workflows, and the IDs of the running executor and workflow."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Coroutine
from typing import Any, Literal, ParamSpec, TypeVar

from dbos import DBOS, SetEnqueueOptions, SetWorkflowID

from mirakl_sync.workflows.engine.drain import _GATE, _gated
from mirakl_sync.workflows.engine.records import WorkflowRun, WorkflowRunAsync
from mirakl_sync.workflows.retry import step_retryable

R = TypeVar("R")
P = ParamSpec("P")


def workflow(
    *, name: str | None = None, max_recovery_attempts: int = 100
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Declare a durable workflow: it resumes from its last checkpoint after a crash.

    Give every workflow an explicit, stable ``name``: it is how another process (or a
    newer release) finds the function to resume. Its body must be deterministic; all
    I/O belongs in :func:`step` functions.
    """
    decorator: Callable[[Callable[P, R]], Callable[P, R]] = DBOS.workflow(
        name=name, max_recovery_attempts=max_recovery_attempts
    )
    return decorator


def step_failure(exc: BaseException) -> str:
    """What a step raised: the last error of its attempts when its retries ran out (the
    engine wraps them), else the error itself; one line, for an exception's message."""
    attempts = getattr(exc, "errors", None)
    if isinstance(attempts, list) and attempts and isinstance(attempts[-1], BaseException):
        last = attempts[-1]
        return f"{type(last).__name__}: {last}, after {len(attempts)} attempts"
    return f"{type(exc).__name__}: {exc}"


def step(
    *,
    name: str | None = None,
    retries: int = 0,
    interval_seconds: float = 1.0,
    backoff_rate: float = 2.0,
    should_retry: Callable[[BaseException], bool] | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Declare a step: its result is checkpointed, so a resumed workflow skips it.

    A step runs AT LEAST once (a crash after it ran but before its checkpoint committed
    runs it again), so every external write needs its own idempotency guard.
    ``retries`` extra attempts follow exponential backoff, for the failures
    ``should_retry`` accepts (by default the one rule of every step,
    :func:`~mirakl_sync.workflows.retry.step_retryable`); to honour a server's
    Retry-After, catch the error in the workflow and :func:`durable_sleep` instead.
    """
    dbos_step: Callable[[Callable[P, R]], Callable[P, R]] = DBOS.step(
        name=name,
        retries_allowed=retries > 0,
        max_attempts=retries + 1,
        interval_seconds=interval_seconds,
        backoff_rate=backoff_rate,
        should_retry=should_retry or step_retryable,
    )

    def decorator(fn: Callable[P, R]) -> Callable[P, R]:
        # The gate sits outside DBOS's wrapper: a step held at a closed gate has not
        # begun as far as the engine knows, and a step let through is counted until its
        # checkpoint is written.
        return _gated(dbos_step(fn))

    return decorator


def durable_sleep(seconds: float) -> None:
    """Sleep inside a workflow; the wake-up time is stored, so a resumed run does not restart it."""
    # A workflow about to sleep parks at a closed gate. The sleep itself is not counted
    # as in flight (a day's sleep must not hold a drain): its wake-up time is stored
    # first, and after it the workflow's next operation meets the gate.
    with _GATE.operation():
        pass
    DBOS.sleep(seconds)


async def durable_sleep_async(seconds: float) -> None:
    """:func:`durable_sleep` for ``async`` workflows (the sync one raises in an event loop)."""
    _GATE.leave_async(await _GATE.enter_async())  # parks at a closed gate, as the sync one
    await DBOS.sleep_async(seconds)


def current_executor_id() -> str:
    """The executor ID of this process (meaningful once an :class:`Engine` exists)."""
    executor_id: str = DBOS.executor_id
    return executor_id


def current_workflow_id() -> str | None:
    """The ID of the workflow this code runs in, or ``None`` outside a workflow."""
    workflow_id: str | None = DBOS.workflow_id
    return workflow_id


def start_workflow(
    fn: Callable[..., R], *args: Any, workflow_id: str | None = None, **kwargs: Any
) -> WorkflowRun[R]:
    """Start ``fn`` in the background in this process.

    ``workflow_id`` is the idempotency key: starting it again returns the existing run
    (and, once it has finished, its stored result) instead of running anything twice.
    """
    with (
        _GATE.operation(),
        SetWorkflowID(workflow_id) if workflow_id else contextlib.nullcontext(),
    ):
        return WorkflowRun(DBOS.start_workflow(fn, *args, **kwargs))


def enqueue(
    queue: str,
    fn: Callable[..., R],
    *args: Any,
    workflow_id: str | None = None,
    deduplication_id: str | None = None,
    partition_key: str | None = None,
    priority: int | None = None,
    if_active: Literal["reject", "attach"] = "reject",
    **kwargs: Any,
) -> WorkflowRun[R]:
    """Put ``fn(*args)`` on ``queue``; any process listening to the queue may run it.

    ``workflow_id`` is the idempotency key; ``deduplication_id`` additionally keeps a
    second workflow with that ID off the queue while one is *active* (ENQUEUED or
    PENDING; the ID is free again once it finishes; not allowed on partitioned queues):
    ``if_active="reject"`` raises, ``"attach"`` enqueues nothing and returns the run
    already holding the ID, so a queue holds at most one of a kind (one pull per
    marketplace, issue 10). ``partition_key`` is required on a queue with a
    ``partition_limiter``. ``priority`` (1 and up; lower first) lets it wait behind work
    enqueued without one, which goes first. Callable from inside a workflow, where the
    enqueue itself is checkpointed (an attach too, so a replay attaches to the same run).
    """
    with contextlib.ExitStack() as stack:
        stack.enter_context(_GATE.operation())
        if workflow_id:
            stack.enter_context(SetWorkflowID(workflow_id))
        if deduplication_id or partition_key or priority is not None:
            stack.enter_context(
                SetEnqueueOptions(
                    deduplication_id=deduplication_id,
                    queue_partition_key=partition_key,
                    priority=priority,
                    duplication_policy="return-existing" if if_active == "attach" else None,
                )
            )
        return WorkflowRun(DBOS.enqueue_workflow(queue, fn, *args, **kwargs))


async def start_workflow_async(
    fn: Callable[..., Coroutine[Any, Any, R]],
    *args: Any,
    workflow_id: str | None = None,
    **kwargs: Any,
) -> WorkflowRunAsync[R]:
    """:func:`start_workflow` for an ``async def`` workflow, from a coroutine."""
    token = await _GATE.enter_async()
    try:
        with SetWorkflowID(workflow_id) if workflow_id else contextlib.nullcontext():
            return WorkflowRunAsync(await DBOS.start_workflow_async(fn, *args, **kwargs))
    finally:
        _GATE.leave_async(token)


async def enqueue_async(
    queue: str,
    fn: Callable[..., Coroutine[Any, Any, R]],
    *args: Any,
    workflow_id: str | None = None,
    deduplication_id: str | None = None,
    partition_key: str | None = None,
    **kwargs: Any,
) -> WorkflowRunAsync[R]:
    """:func:`enqueue` for an ``async def`` workflow, from a coroutine."""
    token = await _GATE.enter_async()
    with contextlib.ExitStack() as stack:
        stack.callback(_GATE.leave_async, token)
        if workflow_id:
            stack.enter_context(SetWorkflowID(workflow_id))
        if deduplication_id or partition_key:
            stack.enter_context(
                SetEnqueueOptions(
                    deduplication_id=deduplication_id, queue_partition_key=partition_key
                )
            )
        return WorkflowRunAsync(await DBOS.enqueue_workflow_async(queue, fn, *args, **kwargs))
