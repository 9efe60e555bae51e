"""What the engine reports: workflow states, :class:`WorkflowInfo` and :class:`StepRecord`,
the handles of started workflows, and the listing arguments both engines share."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from dbos import StepInfo, WorkflowHandle, WorkflowHandleAsync, WorkflowStatus

R = TypeVar("R")

#: Workflow states, as DBOS names them.
PENDING = "PENDING"
ENQUEUED = "ENQUEUED"
SUCCESS = "SUCCESS"
ERROR = "ERROR"
CANCELLED = "CANCELLED"
TERMINAL_STATES = frozenset({SUCCESS, ERROR, CANCELLED, "MAX_RECOVERY_ATTEMPTS_EXCEEDED"})


@dataclass(frozen=True)
class WorkflowInfo:
    """One workflow run as the engine recorded it."""

    workflow_id: str
    name: str
    status: str
    executor_id: str | None
    queue_name: str | None
    created_at_ms: int | None
    updated_at_ms: int | None
    output: Any = None
    error: str | None = None
    parent_workflow_id: str | None = None
    app_version: str | None = None

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATES


@dataclass(frozen=True)
class StepRecord:
    """One checkpointed operation of a workflow (a step, a sleep, a child start...)."""

    step_id: int
    name: str
    output: Any = None
    error: str | None = None
    child_workflow_id: str | None = None


def _info(status: WorkflowStatus) -> WorkflowInfo:
    return WorkflowInfo(
        workflow_id=status.workflow_id,
        name=status.name,
        status=str(status.status),
        executor_id=status.executor_id,
        queue_name=status.queue_name,
        created_at_ms=status.created_at,
        updated_at_ms=status.updated_at,
        output=status.output,
        error=None if status.error is None else repr(status.error),
        parent_workflow_id=status.parent_workflow_id,
        app_version=status.app_version,
    )


def _step(info: StepInfo) -> StepRecord:
    error = info["error"]
    return StepRecord(
        step_id=info["function_id"],
        name=info["function_name"],
        output=info["output"],
        error=None if error is None else repr(error),
        child_workflow_id=info["child_workflow_id"],
    )


class WorkflowRun(Generic[R]):
    """A started or enqueued workflow. Inside a workflow, :meth:`result` is durable."""

    def __init__(self, handle: WorkflowHandle[R]) -> None:
        self._handle = handle

    @property
    def workflow_id(self) -> str:
        return self._handle.get_workflow_id()

    def result(self) -> R:
        """Wait for the workflow to finish and return its output (re-raises its error)."""
        return self._handle.get_result()

    def status(self) -> WorkflowInfo:
        return _info(self._handle.get_status())


class WorkflowRunAsync(Generic[R]):
    """An ``async`` workflow started or enqueued from a coroutine."""

    def __init__(self, handle: WorkflowHandleAsync[R]) -> None:
        self._handle = handle

    @property
    def workflow_id(self) -> str:
        return self._handle.get_workflow_id()

    async def result(self) -> R:
        """Wait for the workflow to finish and return its output (re-raises its error)."""
        return await self._handle.get_result()


def _list_kwargs(
    *,
    status: str | Sequence[str] | None,
    executor_id: str | Sequence[str] | None,
    name: str | Sequence[str] | None,
    queue_name: str | Sequence[str] | None,
    workflow_ids: Sequence[str] | None,
    workflow_id_prefix: str | None,
    parent_workflow_id: str | None,
    load_output: bool,
) -> dict[str, Any]:
    def many(value: str | Sequence[str] | None) -> str | list[str] | None:
        return value if value is None or isinstance(value, str) else list(value)

    return {
        "status": many(status),
        "executor_id": many(executor_id),
        "name": many(name),
        "queue_name": many(queue_name),
        "workflow_ids": None if workflow_ids is None else list(workflow_ids),
        "workflow_id_prefix": workflow_id_prefix,
        "parent_workflow_id": parent_workflow_id,
        "load_input": False,
        "load_output": load_output,
    }
