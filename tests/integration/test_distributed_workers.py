"""Distributed mode: two worker processes on PostgreSQL; one is killed mid-work and the
survivor's watchdog hands its unfinished workflows on, so every probe still finishes."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
import sqlalchemy as sa

from mirakl_sync.adapters.store.database import create_store_engine
from mirakl_sync.adapters.store.tables import executors
from mirakl_sync.workflows.engine import PENDING, SUCCESS, EngineClient
from mirakl_sync.workflows.probe import (
    PROBE_TASK_WORKFLOW,
    ProbeReport,
    enqueue_probe,
    task_workflow_id,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(120)]

T = TypeVar("T")

TASKS = 6
STEP_SECONDS = 3.0  # the durable sleep each probe child takes between its two steps
HEARTBEAT_TIMEOUT = 3


def _create_tables(url: str) -> None:
    try:
        from mirakl_sync.adapters.store.migrations import upgrade_database
    except ImportError:  # migrations not there yet: fall back to the metadata
        from mirakl_sync.adapters.store.tables import metadata

        engine = create_store_engine(url)
        metadata.create_all(engine)
        engine.dispose()
    else:
        upgrade_database(url)


def _write_config(path: Path, database_url: str) -> None:
    path.write_text(
        f"""
database_url = "{database_url}"

[shopify]
shop = "distributed-test.myshopify.com"
access_token = "not-used"

[engine]
heartbeat_timeout_seconds = {HEARTBEAT_TIMEOUT}
worker_concurrency = 2

[logging]
level = "INFO"
""",
        encoding="utf-8",
    )


class Workers:
    """Worker subprocesses with their logs; every one is killed at the end."""

    def __init__(self, config: Path, logs: Path) -> None:
        self.config = config
        self.logs = logs
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, executor_id: str) -> None:
        log = (self.logs / f"{executor_id}.log").open("wb")
        self.processes[executor_id] = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mirakl_sync.workflows.runtime",
                "--config",
                str(self.config),
                "--executor-id",
                executor_id,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        log.close()

    def ready(self, executor_id: str) -> bool:
        """The worker logged that its engine, queues, heartbeat and watchdog run."""
        log = self.logs / f"{executor_id}.log"
        return f"engine {executor_id} ready" in log.read_text(encoding="utf-8", errors="replace")

    def kill(self, executor_id: str) -> None:
        process = self.processes[executor_id]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def check_running(self) -> None:
        for executor_id, process in self.processes.items():
            if process.poll() is not None and process.returncode != -signal.SIGKILL:
                pytest.fail(f"worker {executor_id} exited {process.returncode}:\n{self.tail()}")

    def tail(self, lines: int = 25) -> str:
        parts = []
        for path in sorted(self.logs.glob("*.log")):
            text = path.read_text(encoding="utf-8", errors="replace").splitlines()
            parts.append(f"--- {path.name} ---\n" + "\n".join(text[-lines:]))
        return "\n".join(parts)

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)


@pytest.fixture
def workers(tmp_path: Path, postgres_url: str) -> Iterator[Workers]:
    _create_tables(postgres_url)
    config = tmp_path / "mirakl-sync.toml"
    _write_config(config, postgres_url)
    pool = Workers(config, tmp_path)
    try:
        yield pool
    finally:
        pool.stop_all()


def _wait_for(what: str, probe: Callable[[], T | None], workers: Workers, timeout: float) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        workers.check_running()
        value = probe()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{workers.tail()}")


def _executor_statuses(store: sa.Engine) -> dict[str, str]:
    with store.connect() as connection:
        rows = connection.execute(sa.select(executors.c.executor_id, executors.c.status))
        return {row.executor_id: row.status for row in rows}


def test_survivor_finishes_the_killed_workers_probes(workers: Workers, postgres_url: str) -> None:
    store = create_store_engine(postgres_url)
    try:
        workers.start("w1")
        workers.start("w2")
        _wait_for(
            "both workers to be ready",
            lambda: workers.ready("w1") and workers.ready("w2"),
            workers,
            timeout=45,
        )
        assert _executor_statuses(store) == {"w1": "alive", "w2": "alive"}

        with EngineClient(postgres_url) as client:
            run_id = "probe-distributed"
            enqueue_probe(client, run_id, count=TASKS, step_seconds=STEP_SECONDS)

            def w1_pending_tasks() -> list[str]:
                return [
                    info.workflow_id
                    for info in client.list_workflows(
                        status=PENDING, executor_id="w1", name=PROBE_TASK_WORKFLOW
                    )
                ]

            _wait_for("w1 to hold probe workflows", w1_pending_tasks, workers, timeout=30)
            workers.kill("w1")
            # Snapshot after the kill: w1 can no longer change anything, and the
            # watchdog waits a full heartbeat timeout before touching its work.
            held = w1_pending_tasks()
            assert held, "w1 finished its probes before it was killed; nothing to take over"

            parent = client.wait(run_id, timeout_seconds=60)
            assert parent.status == SUCCESS, f"{parent.error}\n{workers.tail()}"
            assert isinstance(parent.output, dict)
            report = ProbeReport.from_output(parent.output)
            assert report.problems() == []
            assert report.finished_by == "w2"

            # Every workflow w1 held finished on w2, from w1's checkpoint onwards.
            by_index = {task.index: task for task in report.tasks}
            for workflow_id in held:
                info = client.status(workflow_id)
                assert info is not None and info.status == SUCCESS
                assert info.executor_id == "w2", f"{workflow_id} finished by {info.executor_id}"
                index = int(workflow_id.rsplit("-", 1)[1])
                assert by_index[index].second_executor == "w2"

            # Nothing ran twice: one workflow per ID, each with one checkpoint per operation.
            children = client.list_workflows(name=PROBE_TASK_WORKFLOW)
            assert sorted(c.workflow_id for c in children) == sorted(
                task_workflow_id(run_id, i) for i in range(TASKS)
            )
            assert all(c.status == SUCCESS for c in children)
            for child in children:
                operations = Counter(step.name for step in client.list_steps(child.workflow_id))
                assert operations == Counter(
                    {"mirakl_sync.engine_probe_step": 2, "DBOS.sleep": 1}
                ), f"{child.workflow_id}: {operations}"

        statuses = _executor_statuses(store)
        assert statuses["w1"] == "dead", f"watchdog did not mark w1 dead: {statuses}"
        assert statuses["w2"] == "alive"
        w2_log = (workers.logs / "w2.log").read_text(encoding="utf-8", errors="replace")
        # Same host: the killed process is seen gone at its first missed beat, before
        # the heartbeat timeout (the watchdog's fast path).
        assert "executor w1 gone" in w2_log and "marked dead" in w2_log, w2_log[-2000:]
    finally:
        store.dispose()
