"""Embedded mode on SQLite: crash recovery from the last checkpoint, idempotent starts,
and the runtime (engine + heartbeat + watchdog) running the probe in one process."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from mirakl_sync.adapters.store.database import create_store_engine
from mirakl_sync.adapters.store.tables import executors
from mirakl_sync.config import settings_from_mapping
from mirakl_sync.workflows.engine import (
    Engine,
    EngineClient,
    EngineConfig,
    Schedule,
    current_executor_id,
    durable_sleep_async,
    engine_config_from_settings,
    enqueue,
    enqueue_async,
    start_workflow,
    start_workflow_async,
    step,
    system_database_url_for,
    workflow,
)
from mirakl_sync.workflows.probe import run_probe
from mirakl_sync.workflows.runtime import start_runtime

pytestmark = pytest.mark.timeout(60)

# The two steps of the apps below, each writing a line to the journal (argv's JOURNAL).
JOURNALED_STEPS = """

def note(line: str) -> None:
    with Path(JOURNAL).open("a", encoding="utf-8") as journal:
        journal.write(line + "\\n")
        journal.flush()
        os.fsync(journal.fileno())


@step(name="test.reserve_stock")
def reserve_stock(order_id: str) -> str:
    note(f"reserve {order_id}")
    return f"res-{order_id}"


@step(name="test.accept_order")
def accept_order(order_id: str, reservation: str) -> str:
    note(f"accept {order_id} {reservation}")
    return f"{order_id}:accepted"
"""

# A tiny app run in a subprocess so it can die for real (os._exit) between two steps.
CRASH_APP = (
    """
from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from mirakl_sync.workflows.engine import (
    Engine, EngineConfig, durable_sleep, start_workflow, step, workflow,
)

SYSTEM_DB, JOURNAL, MODE = sys.argv[1:4]
"""
    + JOURNALED_STEPS
    + """

@workflow(name="test.order")
def order(order_id: str) -> str:
    reservation = reserve_stock(order_id)
    if MODE == "crash":
        note("crash")
        os._exit(3)
    durable_sleep(0.1)
    return accept_order(order_id, reservation)


with Engine(EngineConfig(system_database_url=SYSTEM_DB, executor_id="solo")) as engine:
    if MODE == "recover":
        # Launch already resumed the PENDING workflow of executor "solo": just wait.
        result = engine.retrieve("order-o-1").result()
    else:
        result = start_workflow(order, "o-1", workflow_id="order-o-1").result()
    info = engine.list_workflows(workflow_ids=["order-o-1"])[0]
    steps = [s.name for s in engine.list_steps("order-o-1")]
    print(json.dumps({"result": result, "status": info.status,
                      "executor": info.executor_id, "steps": steps}))
"""
)


def _run_app(
    script: Path, system_db: str, journal: Path, mode: str, *extra: str, timeout: float = 45
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script), system_db, str(journal), mode, *extra],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        check=False,
    )


def _journal(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def test_crash_between_steps_resumes_from_checkpoint(tmp_path: Path) -> None:
    script = tmp_path / "crash_app.py"
    script.write_text(CRASH_APP, encoding="utf-8")
    system_db = f"sqlite:///{tmp_path / 'engine.db'}"
    journal = tmp_path / "journal.txt"

    crashed = _run_app(script, system_db, journal, "crash")
    assert crashed.returncode == 3, crashed.stderr
    assert _journal(journal) == ["reserve o-1", "crash"]

    # Same executor ID: DBOS recovers the PENDING workflow at launch, after step 1.
    recovered = _run_app(script, system_db, journal, "recover")
    assert recovered.returncode == 0, recovered.stderr
    outcome = json.loads(recovered.stdout.strip().splitlines()[-1])
    assert outcome["result"] == "o-1:accepted"
    assert outcome["status"] == "SUCCESS" and outcome["executor"] == "solo"
    assert _journal(journal) == ["reserve o-1", "crash", "accept o-1 res-o-1"]
    assert Counter(outcome["steps"]) == Counter(
        ["test.reserve_stock", "DBOS.sleep", "test.accept_order"]
    )

    # Starting the same workflow ID again returns the stored result and runs nothing.
    again = _run_app(script, system_db, journal, "start")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout.strip().splitlines()[-1])["result"] == "o-1:accepted"
    assert _journal(journal) == ["reserve o-1", "crash", "accept o-1 res-o-1"]


# One release of a tiny app, then the next (its workflow's code changed), on one system
# database and one executor ID: what an upgrade of the hub is.
RELEASE_APP = (
    """
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from mirakl_sync.workflows.engine import (
    Engine, EngineConfig, enqueue, start_workflow, step, workflow,
)

SYSTEM_DB, JOURNAL, PHASE, VERSION = sys.argv[1:5]
"""
    + JOURNALED_STEPS
    + """


@workflow(name="test.order")
def order(order_id: str) -> str:
    reservation = reserve_stock(order_id)
    if PHASE == "before" and order_id == "o-running":
        os._exit(3)  # the release is stopped mid-workflow
    RELEASE_LINE
    return accept_order(order_id, reservation)


config = EngineConfig(
    system_database_url=SYSTEM_DB, executor_id="solo", application_version=VERSION or None
)
with Engine(config) as engine:
    if PHASE == "before":
        # Queued but not yet started (its queue's worker is not listening yet), then one
        # stopped half-way.
        enqueue("upgrade-queue", order, "o-queued", workflow_id="order-o-queued")
        start_workflow(order, "o-running", workflow_id="order-o-running")
    else:
        engine.register_queue("upgrade-queue", polling_interval_seconds=0.1)
        results = [engine.retrieve(f"order-{o}").result() for o in ("o-queued", "o-running")]
        print(json.dumps({"results": results, "version": engine.application_version}))
"""
)


@pytest.mark.parametrize(
    "before_version",
    [
        pytest.param("", id="same-pinned-version"),
        pytest.param("hashed-by-an-earlier-hub", id="an-earlier-hubs-own-version"),
    ],
)
def test_an_upgrade_runs_what_the_release_before_it_queued_or_left_running(
    tmp_path: Path, before_version: str
) -> None:
    # Before: DBOS hashed the flow code into the application version and dequeues or
    # recovers only its own version's workflows, so any code change stranded the order
    # imports, cancellations and refunds the previous code had queued or left running
    # (the soak: 7 workflows ENQUEUED for good from the minute the code changed).
    system_db = f"sqlite:///{tmp_path / 'engine.db'}"
    journal = tmp_path / "journal.txt"
    for phase, release, version in (
        ("before", "pass  # release 1", before_version),
        ("after", "pass  # release 2: this workflow's code changed", ""),
    ):
        script = tmp_path / f"{phase}.py"
        script.write_text(RELEASE_APP.replace("RELEASE_LINE", release), encoding="utf-8")
        ran = _run_app(script, system_db, journal, phase, version, timeout=40)
        if phase == "before":
            assert ran.returncode == 3, ran.stderr
            assert _journal(journal) == ["reserve o-running"]
    assert ran.returncode == 0, ran.stderr[-2000:]
    outcome = json.loads(ran.stdout.strip().splitlines()[-1])
    assert outcome["results"] == ["o-queued:accepted", "o-running:accepted"]
    # The stopped one goes on from its checkpoint: reserved once.
    assert sorted(_journal(journal)) == sorted(
        [
            "reserve o-running",
            "reserve o-queued",
            "accept o-queued res-o-queued",
            "accept o-running res-o-running",
        ]
    )


_CALLS: Counter[str] = Counter()
_CALLS_LOCK = threading.Lock()


@step(name="test.count_call")
def _count_call(key: str) -> int:
    with _CALLS_LOCK:
        _CALLS[key] += 1
        return _CALLS[key]


@workflow(name="test.counted")
def _counted(key: str) -> str:
    return f"{key}:{_count_call(key)}"


def test_same_workflow_id_runs_once_started_or_enqueued(tmp_path: Path) -> None:
    key = uuid.uuid4().hex
    config = EngineConfig(
        system_database_url=f"sqlite:///{tmp_path / 'engine.db'}", executor_id="solo"
    )
    with Engine(config) as engine:
        engine.register_queue("test-queue", worker_concurrency=2, polling_interval_seconds=0.2)
        first = start_workflow(_counted, key, workflow_id=f"wf-{key}").result()
        second = start_workflow(_counted, key, workflow_id=f"wf-{key}").result()
        queued = enqueue("test-queue", _counted, key, workflow_id=f"wf-{key}").result()
        assert first == second == queued == f"{key}:1"
        assert _CALLS[key] == 1

        # Two enqueues of a fresh ID on a queue: one run, one result.
        runs = [enqueue("test-queue", _counted, key, workflow_id=f"wf2-{key}") for _ in range(2)]
        assert [run.result() for run in runs] == [f"{key}:2", f"{key}:2"]
        assert _CALLS[key] == 2
        infos = engine.list_workflows(workflow_id_prefix=f"wf2-{key}")
        assert [(i.status, i.executor_id) for i in infos] == [("SUCCESS", "solo")]


_RAN: list[str] = []


@workflow(name="test.ran")
def _ran(label: str) -> str:
    _RAN.append(label)
    return label


def test_work_enqueued_with_a_priority_waits_behind_work_without(tmp_path: Path) -> None:
    config = EngineConfig(
        system_database_url=f"sqlite:///{tmp_path / 'engine.db'}", executor_id="solo"
    )
    with Engine(config) as engine:
        # One at a time, and the first poll a second away: everything below is queued
        # before anything runs, so the order they run in is the queue's.
        engine.register_queue("prio-queue", worker_concurrency=1, polling_interval_seconds=1.0)
        runs = [enqueue("prio-queue", _ran, f"follow-up {n}", priority=10) for n in range(3)]
        runs += [enqueue("prio-queue", _ran, f"import {n}") for n in range(2)]
        for run in runs:
            run.result()
    assert _RAN == ["import 0", "import 1", "follow-up 0", "follow-up 1", "follow-up 2"]


@step(name="test.async_double")
async def _async_double(value: int) -> int:
    return value * 2


@workflow(name="test.async_flow")
async def _async_flow(value: int) -> dict[str, Any]:
    doubled = await _async_double(value)
    await durable_sleep_async(0.05)
    return {"doubled": doubled, "executor": current_executor_id()}


_TICKS: list[str] = []


@workflow(name="test.tick")
def _tick(scheduled_time: datetime, context: Any) -> None:
    _TICKS.append(f"{context}@{scheduled_time.isoformat()}")


def test_async_flows_and_schedules(tmp_path: Path) -> None:
    config = EngineConfig(
        system_database_url=f"sqlite:///{tmp_path / 'engine.db'}",
        executor_id="solo",
        scheduler_polling_interval_seconds=0.2,
    )
    with Engine(config) as engine:
        engine.register_queue("async-queue", polling_interval_seconds=0.2)

        async def drive() -> tuple[dict[str, Any], dict[str, Any]]:
            started = await start_workflow_async(_async_flow, 4, workflow_id="async-1")
            queued = await enqueue_async("async-queue", _async_flow, 5, workflow_id="async-2")
            return await started.result(), await queued.result()

        started, queued = asyncio.run(drive())
        assert started == {"doubled": 8, "executor": "solo"}
        assert queued == {"doubled": 10, "executor": "solo"}

        engine.apply_schedules([Schedule("test-tick", _tick, "* * * * * *", context="ctx")])
        deadline = time.monotonic() + 10
        while not _TICKS and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _TICKS and _TICKS[0].startswith("ctx@"), "the every-second schedule never fired"


def test_runtime_runs_probe_and_keeps_heartbeat(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    _create_tables(url)
    settings = settings_from_mapping(
        {
            "database_url": url,
            "shopify": {"shop": "probe.myshopify.com", "access_token": "dummy"},
            "engine": {"executor_id": "embedded-1", "heartbeat_timeout_seconds": 3},
        }
    )
    assert system_database_url_for(settings) == f"sqlite:///{tmp_path / 'store-engine.db'}"
    assert engine_config_from_settings(settings).executor_id == "embedded-1"

    runtime = start_runtime(settings, role="hub")
    try:
        with EngineClient.from_settings(settings) as client:
            report = run_probe(
                client, "probe-embedded", count=3, step_seconds=0.1, timeout_seconds=30
            )
        assert report.problems() == []
        assert report.executors == {"embedded-1"} and report.finished_by == "embedded-1"
        assert _executor_row(url, "embedded-1") == ("hub", "alive")
    finally:
        runtime.stop()
    assert _executor_row(url, "embedded-1") == ("hub", "stopped")


def _executor_row(url: str, executor_id: str) -> tuple[str, str]:
    store = create_store_engine(url)
    try:
        with store.connect() as connection:
            row = connection.execute(
                sa.select(executors.c.role, executors.c.status).where(
                    executors.c.executor_id == executor_id
                )
            ).one()
        return (row.role, row.status)
    finally:
        store.dispose()


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


_HELD: list[str] = []


@step(name="test.held_step")
def _held_step(label: str) -> str:
    _HELD.append(label)
    return label


@workflow(name="test.held")
def _held(label: str) -> str:
    return _held_step(label)


def test_steps_wait_until_the_process_has_registered_its_flows(tmp_path: Path) -> None:
    # Before (issue 10, the hour soak): launch resumed and dequeued work before the flow
    # modules were configured; their steps raised "the order workflows are not configured
    # in this process" (not retryable), and order follow-ups failed for good.
    config = EngineConfig(
        system_database_url=f"sqlite:///{tmp_path / 'engine.db'}", executor_id="held"
    )
    engine = Engine(config)
    engine.launch(hold_steps=True)
    try:
        handle = start_workflow(_held, "a", workflow_id="held-a")
        time.sleep(1.0)
        assert _HELD == []  # the step waits at the gate
        engine.release_steps()
        assert handle.result() == "a"
        assert _HELD == ["a"]
    finally:
        engine.destroy()
