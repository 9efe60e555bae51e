"""The watchdog's claim: exactly one survivor takes over a silent executor's work."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from mirakl_sync.adapters.store.database import create_store_engine
from mirakl_sync.adapters.store.tables import executors
from mirakl_sync.workflows.heartbeat import ALIVE, DEAD, STOPPED, Heartbeat
from mirakl_sync.workflows.watchdog import (
    Watchdog,
    claim_dead_executor,
    silent_executors,
    stale_executors,
)

TIMEOUT = 30.0
NOW = 1_000_000.0


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


@pytest.fixture
def store(tmp_path: Path) -> Iterator[sa.Engine]:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    _create_tables(url)
    engine = create_store_engine(url)
    yield engine
    engine.dispose()


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class FakeRecoverer:
    """Stands in for the engine: remembers which executors' work it handed on."""

    def __init__(self, pending: dict[str, list[str]]) -> None:
        self.pending = pending
        self.handed_over: list[str] = []

    def pending_workflow_ids(self, executor_id: str) -> list[str]:
        return list(self.pending.get(executor_id, []))

    def hand_over(self, executor_id: str) -> list[str]:
        self.handed_over.append(executor_id)
        return self.pending.pop(executor_id, [])


def _beat(store: sa.Engine, executor_id: str, at: float) -> Heartbeat:
    heartbeat = Heartbeat(
        store, executor_id, role="worker", interval_seconds=1, clock=FakeClock(at)
    )
    heartbeat.register()
    return heartbeat


def _status(store: sa.Engine, executor_id: str) -> str:
    with store.connect() as connection:
        return str(
            connection.execute(
                sa.select(executors.c.status).where(executors.c.executor_id == executor_id)
            ).scalar_one()
        )


def test_only_one_of_two_claimers_wins(store: sa.Engine) -> None:
    _beat(store, "w1", at=NOW - 100)
    cutoff = NOW - TIMEOUT
    assert claim_dead_executor(store, "w1", cutoff=cutoff) is True
    assert claim_dead_executor(store, "w1", cutoff=cutoff) is False
    assert _status(store, "w1") == DEAD


def test_concurrent_claimers_one_winner(store: sa.Engine) -> None:
    _beat(store, "w1", at=NOW - 100)
    results: list[bool] = []
    barrier = threading.Barrier(4)

    def claim() -> None:
        barrier.wait()
        results.append(claim_dead_executor(store, "w1", cutoff=NOW - TIMEOUT))

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, False, False, True]


def test_fresh_heartbeat_is_not_claimed(store: sa.Engine) -> None:
    _beat(store, "w1", at=NOW - 5)
    assert claim_dead_executor(store, "w1", cutoff=NOW - TIMEOUT) is False
    assert _status(store, "w1") == ALIVE


def test_two_watchdogs_hand_over_once(store: sa.Engine) -> None:
    _beat(store, "dead", at=NOW - 100)
    _beat(store, "w2", at=NOW)
    _beat(store, "w3", at=NOW)
    recoverers = [FakeRecoverer({"dead": ["wf-1", "wf-2"]}) for _ in range(2)]
    # Both survivors read the same database; only the claim decides who proceeds.
    shared_pending = recoverers[0].pending
    recoverers[1].pending = shared_pending
    dogs = [
        Watchdog(
            store,
            recoverer,
            own_executor_id=own,
            timeout_seconds=TIMEOUT,
            interval_seconds=1,
            clock=FakeClock(NOW),
        )
        for own, recoverer in zip(["w2", "w3"], recoverers, strict=True)
    ]
    takeovers = [dog.sweep() for dog in dogs]
    assert [len(t) for t in takeovers] == [1, 0]
    assert takeovers[0][0].executor_id == "dead"
    assert list(takeovers[0][0].workflow_ids) == ["wf-1", "wf-2"]
    assert recoverers[0].handed_over == ["dead"] and recoverers[1].handed_over == []
    assert _status(store, "dead") == DEAD
    assert _status(store, "w2") == ALIVE and _status(store, "w3") == ALIVE


def test_watchdog_never_claims_itself(store: sa.Engine) -> None:
    _beat(store, "me", at=NOW - 100)
    recoverer = FakeRecoverer({"me": ["wf"]})
    dog = Watchdog(
        store,
        recoverer,
        own_executor_id="me",
        timeout_seconds=TIMEOUT,
        interval_seconds=1,
        clock=FakeClock(NOW),
    )
    assert dog.sweep() == []
    assert _status(store, "me") == ALIVE


def test_stopped_executor_is_claimed_only_with_pending_work(store: sa.Engine) -> None:
    _beat(store, "clean", at=NOW - 100).mark(STOPPED)
    _beat(store, "left-work", at=NOW - 100).mark(STOPPED)
    # mark() refreshes heartbeat_at with the fake clock's time, still stale.
    recoverer = FakeRecoverer({"left-work": ["wf-9"]})
    dog = Watchdog(
        store,
        recoverer,
        own_executor_id="w2",
        timeout_seconds=TIMEOUT,
        interval_seconds=1,
        clock=FakeClock(NOW),
    )
    takeovers = dog.sweep()
    assert [t.executor_id for t in takeovers] == ["left-work"]
    assert _status(store, "clean") == STOPPED
    assert _status(store, "left-work") == DEAD


def test_stale_executors_lists_only_silent_alive_or_stopped(store: sa.Engine) -> None:
    _beat(store, "old", at=NOW - 100)
    _beat(store, "new", at=NOW - 1)
    _beat(store, "gone", at=NOW - 100).mark(DEAD)
    found = stale_executors(store, now=NOW, timeout_seconds=TIMEOUT)
    assert found == [("old", ALIVE)]


def test_restart_with_same_id_flips_dead_back_to_alive(store: sa.Engine) -> None:
    _beat(store, "w1", at=NOW - 100)
    assert claim_dead_executor(store, "w1", cutoff=NOW - TIMEOUT)
    _beat(store, "w1", at=NOW)  # the restarted process registers again
    assert _status(store, "w1") == ALIVE


def test_heartbeat_refreshes_and_stop_marks_stopped(store: sa.Engine) -> None:
    clock = FakeClock(NOW)
    heartbeat = Heartbeat(store, "w1", role="worker", interval_seconds=1, clock=clock)
    heartbeat.register()
    clock.now = NOW + 10
    heartbeat.beat()
    with store.connect() as connection:
        row = connection.execute(sa.select(executors).where(executors.c.executor_id == "w1")).one()
    assert row.heartbeat_at == pytest.approx(NOW + 10)
    assert row.role == "worker" and row.status == ALIVE
    heartbeat.stop()
    assert _status(store, "w1") == STOPPED


def test_a_process_gone_from_this_host_is_claimed_before_the_timeout(store: sa.Engine) -> None:
    """Issue 10, item 6: a killed hub's PENDING pull held its marketplace's pull slot for
    the whole heartbeat timeout, and the restarted hub (a new executor ID) pulled that
    marketplace again only after a median 54 s. A process known to be gone (same host,
    its pid no longer running) that has missed a beat is dead now, not after the timeout."""
    _beat(store, "killed", at=NOW - 16)  # missed one beat (interval 10 s), under 30 s
    _beat(store, "late-but-running", at=NOW - 16)
    _beat(store, "just-killed", at=NOW - 2)  # has not missed a beat yet
    recoverer = FakeRecoverer({"killed": ["pull-1"], "late-but-running": ["wf-2"]})
    gone = {"killed", "just-killed"}
    dog = Watchdog(
        store,
        recoverer,
        own_executor_id="restarted",
        timeout_seconds=TIMEOUT,
        interval_seconds=TIMEOUT / 3,
        clock=FakeClock(NOW),
        process_gone=lambda row: row.executor_id in gone,
        # Rows from a PID space the dog cannot be sure of (e.g. a container sharing the
        # hostname): only a missed beat makes "gone" count.
        space="another-pid-space",
    )
    takeovers = dog.sweep()
    assert [(t.executor_id, list(t.workflow_ids)) for t in takeovers] == [("killed", ["pull-1"])]
    assert _status(store, "killed") == DEAD
    assert _status(store, "late-but-running") == ALIVE
    assert _status(store, "just-killed") == ALIVE


def test_a_process_gone_from_this_pid_space_is_claimed_at_once(store: sa.Engine) -> None:
    """The soak (issue 10): after a kill the restarted hub waited for its predecessor to
    miss a beat and for the next sweep (up to 28 s) before that marketplace's pull was
    handed on. A row in this process's own PID space whose pid is gone is dead at once;
    one in another space (a container sharing the hostname) still needs the missed beat,
    and a row that beat again since it was read is left alone."""
    space = "boot-1/pid:[4026531836]"
    for executor_id, row_space in (("killed", space), ("other-container", "boot-1/pid:[99]")):
        heartbeat = Heartbeat(
            store,
            executor_id,
            role="run",
            interval_seconds=10,
            clock=FakeClock(NOW - 2),
            space=row_space,
        )
        heartbeat.register()
    recoverer = FakeRecoverer({"killed": ["pull-1"], "other-container": ["wf-2"]})
    dog = Watchdog(
        store,
        recoverer,
        own_executor_id="restarted",
        timeout_seconds=TIMEOUT,
        interval_seconds=TIMEOUT / 3,
        clock=FakeClock(NOW),
        process_gone=lambda row: True,
        space=space,
    )
    takeovers = dog.sweep()
    assert [(t.executor_id, list(t.workflow_ids)) for t in takeovers] == [("killed", ["pull-1"])]
    assert _status(store, "killed") == DEAD
    assert _status(store, "other-container") == ALIVE


def test_a_row_that_beat_again_since_it_was_read_is_not_claimed(store: sa.Engine) -> None:
    heartbeat = Heartbeat(
        store,
        "restarting",
        role="run",
        interval_seconds=10,
        clock=FakeClock(NOW - 2),
        space="s",
    )
    heartbeat.register()
    [row] = silent_executors(store, now=NOW, silent_seconds=0.0)
    # The same executor ID starts again (a stable --executor-id) and beats.
    Heartbeat(
        store, "restarting", role="run", interval_seconds=10, clock=FakeClock(NOW), space="s"
    ).register()
    assert not claim_dead_executor(
        store, "restarting", cutoff=math.nextafter(row.heartbeat_at, math.inf)
    )
    assert _status(store, "restarting") == ALIVE
