"""The out-of-process client, :class:`EngineClient`, for processes that inspect or enqueue
work without running it (CLI, dashboard, tests)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from dbos import DBOSClient, EnqueueOptions

from mirakl_sync.config import Settings
from mirakl_sync.workflows.engine.config import APP_NAME, system_database_url_for
from mirakl_sync.workflows.engine.records import (
    StepRecord,
    WorkflowInfo,
    _info,
    _list_kwargs,
    _step,
)


class EngineClient:
    """Enqueue and inspect workflows from a process that does not run them.

    It needs the system database to exist already (a worker or ``mirakl-sync run`` has
    launched once). Workflows are addressed by their registered ``name``.
    """

    def __init__(self, system_database_url: str) -> None:
        self._client = DBOSClient(
            system_database_url=system_database_url, application_name=APP_NAME
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> EngineClient:
        return cls(system_database_url_for(settings))

    def close(self) -> None:
        self._client.destroy()

    def __enter__(self) -> EngineClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def enqueue(
        self,
        queue: str,
        workflow_name: str,
        *args: Any,
        workflow_id: str | None = None,
        deduplication_id: str | None = None,
        partition_key: str | None = None,
    ) -> str:
        """Enqueue the registered workflow ``workflow_name``; returns its workflow ID."""
        options: EnqueueOptions = {"queue_name": queue, "workflow_name": workflow_name}
        if workflow_id:
            options["workflow_id"] = workflow_id
        if deduplication_id:
            options["deduplication_id"] = deduplication_id
        if partition_key:
            options["queue_partition_key"] = partition_key
        handle: Any = self._client.enqueue(options, *args)
        workflow_id_out: str = handle.get_workflow_id()
        return workflow_id_out

    def status(self, workflow_id: str) -> WorkflowInfo | None:
        found = self.list_workflows(workflow_ids=[workflow_id])
        return found[0] if found else None

    def wait(
        self, workflow_id: str, *, timeout_seconds: float, poll_seconds: float = 0.2
    ) -> WorkflowInfo:
        """Poll until the workflow is finished; raise ``TimeoutError`` saying where it is."""
        deadline = time.monotonic() + timeout_seconds
        while True:
            info = self.status(workflow_id)
            if info is not None and info.is_terminal:
                return info
            if time.monotonic() >= deadline:
                where = "unknown" if info is None else f"{info.status} on {info.executor_id}"
                raise TimeoutError(
                    f"workflow {workflow_id} not finished after {timeout_seconds:.0f} s "
                    f"(now {where}); is a worker running (mirakl-sync worker)?"
                )
            time.sleep(poll_seconds)

    def list_workflows(
        self,
        *,
        status: str | Sequence[str] | None = None,
        executor_id: str | Sequence[str] | None = None,
        name: str | Sequence[str] | None = None,
        queue_name: str | Sequence[str] | None = None,
        workflow_ids: Sequence[str] | None = None,
        workflow_id_prefix: str | None = None,
        parent_workflow_id: str | None = None,
        load_output: bool = True,
    ) -> list[WorkflowInfo]:
        kwargs = _list_kwargs(
            status=status,
            executor_id=executor_id,
            name=name,
            queue_name=queue_name,
            workflow_ids=workflow_ids,
            workflow_id_prefix=workflow_id_prefix,
            parent_workflow_id=parent_workflow_id,
            load_output=load_output,
        )
        return [_info(status) for status in self._client.list_workflows(**kwargs)]

    def list_steps(self, workflow_id: str) -> list[StepRecord]:
        return [_step(info) for info in self._client.list_workflow_steps(workflow_id)]

    def resume_workflows(self, workflow_ids: Sequence[str], queue: str | None) -> None:
        if workflow_ids:
            self._client.resume_workflows(list(workflow_ids), queue_name=queue)
