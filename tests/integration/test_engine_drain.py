"""Engine.drain (issue 10, item 7), in real processes so a drained one can exit for real.

A process about to exit stops taking work, lets the step in flight finish and be
checkpointed, parks the workflow before its next step, and hands it back ENQUEUED; the
next process (another executor ID) finishes it without running the finished step again.
A step still running at the bound is reported, and its workflow stays PENDING.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(120)

DRAIN_APP = """
import json, os, sys, time
from pathlib import Path

from mirakl_sync.workflows.engine import Engine, EngineConfig, enqueue, step, workflow

SYSTEM_DB, JOURNAL, MODE, EXECUTOR = sys.argv[1:5]


def note(line: str) -> None:
    with Path(JOURNAL).open("a", encoding="utf-8") as journal:
        journal.write(line + "\\n")


def journal() -> list[str]:
    path = Path(JOURNAL)
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


@step(name="test.slow_write")
def slow_write(seconds: float) -> str:
    note("slow start")
    time.sleep(seconds)
    note("slow end")
    return "written"


@step(name="test.next")
def next_step(previous: str) -> str:
    note("next")
    return previous + "+next"


@workflow(name="test.two_steps")
def two_steps(seconds: float) -> str:
    return next_step(slow_write(seconds))


engine = Engine(EngineConfig(system_database_url=SYSTEM_DB, executor_id=EXECUTOR))
engine.launch()
engine.register_queue("drain-q", polling_interval_seconds=0.1)
if MODE in ("drain", "cut"):
    seconds = 1.5 if MODE == "drain" else 30.0
    enqueue("drain-q", two_steps, seconds, workflow_id="wf-1")
    while "slow start" not in journal():
        time.sleep(0.05)
    report = engine.drain(5.0)
    info = engine.list_workflows(workflow_ids=["wf-1"])[0]
    steps = [s.name for s in engine.list_steps("wf-1")]
    print(json.dumps({"clean": report.clean, "running": report.still_running,
                      "busy": list(report.busy), "handed_back": list(report.handed_back),
                      "status": info.status, "steps": steps}), flush=True)
    os._exit(0)
else:
    result = engine.retrieve("wf-1").result()
    print(json.dumps({"result": result}), flush=True)
    engine.destroy()
"""


def _run(script: Path, db: str, journal: Path, mode: str, executor: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, str(script), db, str(journal), mode, executor],
        capture_output=True,
        text=True,
        timeout=90,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "accessed before DBOS was launched" not in done.stderr, done.stderr[-3000:]
    outcome: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return outcome


def test_a_drain_finishes_the_step_in_flight_and_hands_the_workflow_back(
    tmp_path: Path,
) -> None:
    script = tmp_path / "drain_app.py"
    script.write_text(DRAIN_APP, encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'engine.db'}"
    journal = tmp_path / "journal.txt"

    drained = _run(script, db, journal, "drain", "first")
    assert drained["clean"] is True and drained["running"] == 0
    assert drained["steps"] == ["test.slow_write"]  # checkpointed during the drain
    assert drained["handed_back"] == ["wf-1"] and drained["status"] == "ENQUEUED"
    assert journal.read_text().splitlines() == ["slow start", "slow end"]  # no "next"

    resumed = _run(script, db, journal, "resume", "second")
    assert resumed["result"] == "written+next"
    assert journal.read_text().splitlines() == ["slow start", "slow end", "next"]


def test_a_step_still_running_at_the_bound_is_reported_and_stays_pending(
    tmp_path: Path,
) -> None:
    script = tmp_path / "drain_app.py"
    script.write_text(DRAIN_APP, encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'engine.db'}"
    journal = tmp_path / "journal.txt"

    cut = _run(script, db, journal, "cut", "first")
    assert cut["clean"] is False and cut["running"] == 1
    assert cut["busy"] == ["wf-1"] and cut["handed_back"] == []
    assert cut["status"] == "PENDING" and cut["steps"] == []
