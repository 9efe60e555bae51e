"""The engine probe: a small real flow proving that workers pick up and recover queued work.

``engine_probe(run_id, count, step_seconds)`` enqueues ``count`` child workflows on the
``probe`` queue; each child runs a durable step, a durable sleep of ``step_seconds`` and a
second durable step, and each step records which executor ran it. The parent gathers the
children's results. Used by ``mirakl-sync doctor --engine`` and by the distributed test
(a worker killed mid-sleep: its children must finish on a survivor).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mirakl_sync.config import Settings
from mirakl_sync.workflows.engine import (
    Engine,
    EngineClient,
    current_executor_id,
    durable_sleep,
    enqueue,
    step,
    workflow,
)

#: Where the children run, and where the parent runs (apart, so parents waiting on
#: their children can never take every slot the children need).
PROBE_QUEUE = "probe"
PROBE_RUNS_QUEUE = "probe-runs"
PROBE_WORKFLOW = "mirakl_sync.engine_probe"
PROBE_TASK_WORKFLOW = "mirakl_sync.engine_probe_task"


def task_workflow_id(run_id: str, index: int) -> str:
    """The child's workflow ID, derived from the run so a resumed parent re-attaches."""
    return f"{run_id}-task-{index}"


@step(name="mirakl_sync.engine_probe_step")
def probe_step(run_id: str, index: int, phase: str) -> str:
    """Report which executor runs this step (its checkpointed output)."""
    return current_executor_id()


@workflow(name=PROBE_TASK_WORKFLOW)
def engine_probe_task(run_id: str, index: int, step_seconds: float) -> dict[str, Any]:
    first = probe_step(run_id, index, "first")
    durable_sleep(step_seconds)
    second = probe_step(run_id, index, "second")
    return {"run_id": run_id, "index": index, "first_executor": first, "second_executor": second}


@workflow(name=PROBE_WORKFLOW)
def engine_probe(run_id: str, count: int, step_seconds: float) -> dict[str, Any]:
    runs = [
        enqueue(
            PROBE_QUEUE,
            engine_probe_task,
            run_id,
            index,
            step_seconds,
            workflow_id=task_workflow_id(run_id, index),
        )
        for index in range(count)
    ]
    tasks = [run.result() for run in runs]
    # Not a step on purpose: after a takeover this names whoever finished the parent.
    return {"run_id": run_id, "count": count, "tasks": tasks, "finished_by": current_executor_id()}


def register(engine: Engine, settings: Settings) -> None:
    """Create the probe's queues (called by the runtime after launch)."""
    engine.register_queue(PROBE_QUEUE, worker_concurrency=settings.engine.worker_concurrency)
    engine.register_queue(PROBE_RUNS_QUEUE, worker_concurrency=settings.engine.worker_concurrency)


@dataclass(frozen=True)
class ProbeTask:
    index: int
    first_executor: str
    second_executor: str


@dataclass(frozen=True)
class ProbeReport:
    """The parent's output, read back."""

    run_id: str
    count: int
    tasks: tuple[ProbeTask, ...]
    finished_by: str

    @classmethod
    def from_output(cls, output: dict[str, Any]) -> ProbeReport:
        return cls(
            run_id=output["run_id"],
            count=output["count"],
            tasks=tuple(
                ProbeTask(t["index"], t["first_executor"], t["second_executor"])
                for t in output["tasks"]
            ),
            finished_by=output["finished_by"],
        )

    @property
    def executors(self) -> set[str]:
        """Every executor that ran at least one probe step."""
        return {t.first_executor for t in self.tasks} | {t.second_executor for t in self.tasks}

    def problems(self) -> list[str]:
        """What is wrong with the run; empty when every child reported exactly once."""
        indices = [t.index for t in self.tasks]
        problems = []
        if sorted(indices) != list(range(self.count)):
            problems.append(f"expected children 0..{self.count - 1}, got {sorted(indices)}")
        return problems


def enqueue_probe(client: EngineClient, run_id: str, *, count: int, step_seconds: float) -> str:
    """Put a probe run on the queue for the workers; returns the parent's workflow ID."""
    return client.enqueue(
        PROBE_RUNS_QUEUE, PROBE_WORKFLOW, run_id, count, step_seconds, workflow_id=run_id
    )


def run_probe(
    client: EngineClient, run_id: str, *, count: int, step_seconds: float, timeout_seconds: float
) -> ProbeReport:
    """Enqueue a probe and wait for it; raise ``RuntimeError`` saying what went wrong."""
    workflow_id = enqueue_probe(client, run_id, count=count, step_seconds=step_seconds)
    info = client.wait(workflow_id, timeout_seconds=timeout_seconds)
    if info.status != "SUCCESS" or not isinstance(info.output, dict):
        raise RuntimeError(f"engine probe {run_id} ended {info.status}: {info.error}")
    return ProbeReport.from_output(info.output)
