"""The engine runtime: one engine process with its heartbeat and its watchdog.

``start_runtime`` imports the flow modules (their decorators register the workflows),
launches the engine (which recovers this executor's own unfinished work), lets each flow
module create its queues and schedules, then starts the heartbeat and the watchdog.
``run_worker`` (``mirakl-sync worker``) and ``run_hub`` (``mirakl-sync run``) block on it
until SIGTERM/SIGINT or ``stop`` is set.

Stopping. In a process that goes on (tests), :meth:`Runtime.stop` destroys the engine.
In a process about to exit (a signal arrived: :func:`exit_after_stop`), it DRAINS
instead (issue 10, item 7): no more dequeuing nor schedule ticks, the steps in flight get
:data:`DRAIN_SECONDS` to finish and be checkpointed, the unfinished workflows go back on
their queues for the next process, the heartbeat row says ``stopped``, and the engine is
left as it is for the process to end (destroying it under running steps is what made
them fail with "System database accessed before DBOS was launched").

A flow module listed in :data:`FLOW_MODULES` may define
``register(engine: Engine, settings: Settings) -> None``; it is called after launch.

Also runnable as ``python -m mirakl_sync.workflows.runtime --config PATH
[--executor-id ID]`` (used by the distributed test before the CLI wraps it).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import sqlalchemy as sa

from mirakl_sync.adapters.store.database import create_store_engine
from mirakl_sync.adapters.store.tables import executors
from mirakl_sync.bootstrap import bootstrap
from mirakl_sync.config import Settings, load_settings
from mirakl_sync.errors import ConfigError
from mirakl_sync.workflows.engine import DrainReport, Engine, engine_config_from_settings
from mirakl_sync.workflows.flow_context import FlowContext, clear_flow_context, set_flow_context
from mirakl_sync.workflows.heartbeat import Heartbeat, heartbeat_interval
from mirakl_sync.workflows.watchdog import Watchdog

logger = logging.getLogger(__name__)

#: The modules holding workflows. Every engine process imports all of them, so any
#: process can run (and recover) any workflow; later flows add themselves here.
FLOW_MODULES: tuple[str, ...] = (
    "mirakl_sync.workflows.probe",
    "mirakl_sync.workflows.stock",
    "mirakl_sync.workflows.dispatch",
    "mirakl_sync.workflows.orders",
)


#: How long a stopping process lets the steps in flight finish before it exits anyway
#: (their workflows then stay PENDING, resumed by the next start like after a crash):
#: ``engine.shutdown_grace_seconds``, whose default this is.
DRAIN_SECONDS = 10.0
#: What a signal's hard bound adds to the drain: the web server's own shutdown before it,
#: the heartbeat's last write after it.
EXIT_MARGIN_SECONDS = 5.0

_EXITING = threading.Event()
_DRAINS: list[DrainReport] = []


def exit_after_stop() -> None:
    """Say that this process ends once its runtime stops (a signal arrived): from now on
    :meth:`Runtime.stop` drains instead of destroying the engine."""
    _EXITING.set()


def last_drain() -> DrainReport | None:
    """The outcome of this process's last drain, if it drained."""
    return _DRAINS[-1] if _DRAINS else None


@dataclass
class Runtime:
    """A running engine process; :meth:`stop` shuts it down cleanly."""

    engine: Engine
    heartbeat: Heartbeat
    watchdog: Watchdog
    store: sa.Engine
    #: Set once :meth:`drain` has run.
    drained: DrainReport | None = None
    #: The drain's bound (``engine.shutdown_grace_seconds``).
    drain_seconds: float = DRAIN_SECONDS

    @property
    def executor_id(self) -> str:
        return self.engine.executor_id

    def stop(self, *, wait_seconds: int = 0) -> None:
        """Stop watching, stop the engine, then record ``stopped``.

        Workflows still running stay PENDING; this executor ID resumes them when it
        starts again, or the watchdogs of the others hand them on after the timeout.
        In a process about to exit (:func:`exit_after_stop`) this drains instead.
        """
        if _EXITING.is_set():
            self.drain(self.drain_seconds)
            return
        self.watchdog.stop()
        try:
            self.engine.destroy(wait_seconds=wait_seconds)
        finally:
            clear_flow_context()
            self.heartbeat.stop()
            self.store.dispose()

    def drain(self, timeout_seconds: float = DRAIN_SECONDS) -> DrainReport:
        """Stop taking work, let the steps in flight finish, hand the rest back, for a
        process that exits next (see the module docstring). A second call returns the
        first one's outcome."""
        if self.drained is not None:
            return self.drained
        self.watchdog.stop()
        # The flow context stays: a step cut off by the drain may still read it until the
        # process exits (its workflow resumes at the next start).
        report = self.engine.drain(timeout_seconds)
        self.heartbeat.stop()
        self.store.dispose()
        self.drained = report
        _DRAINS.append(report)
        if report.clean:
            logger.info(
                "engine %s drained: every step in flight finished; %d workflow(s) handed "
                "back to the queues",
                self.executor_id,
                len(report.handed_back),
            )
        else:
            logger.warning(
                "engine %s: %d step(s) still running after %.0f s are cut off; their "
                "workflows stay PENDING and resume at the next start (a step may run "
                "twice): %s",
                self.executor_id,
                report.still_running,
                timeout_seconds,
                ", ".join(report.busy) or "outside workflows",
            )
        return report


def _check_store(store: sa.Engine, database_url: str) -> None:
    if not sa.inspect(store).has_table(executors.name):
        raise ConfigError(
            f"{database_url}: the hub's tables are missing; run `mirakl-sync db upgrade` first"
        )


def start_runtime(
    settings: Settings,
    *,
    role: str = "worker",
    executor_id: str | None = None,
    flow_modules: Sequence[str] = FLOW_MODULES,
    context: FlowContext | None = None,
) -> Runtime:
    """Launch the engine, the heartbeat and the watchdog for this process, with its flow
    context: ``context`` (a test's, over its sandbox) or one over ``bootstrap(settings)``."""
    config = engine_config_from_settings(settings, executor_id=executor_id)
    store = create_store_engine(settings.database_url)
    try:
        _check_store(store, settings.database_url)
        modules = [importlib.import_module(name) for name in flow_modules]
        engine = Engine(config)
    except BaseException:
        store.dispose()
        raise
    interval = heartbeat_interval(settings.engine.heartbeat_timeout_seconds)
    heartbeat = Heartbeat(store, config.executor_id, role=role, interval_seconds=interval)
    try:
        # Beat BEFORE launching: launch resumes this executor's own unfinished work, and a
        # stale row during that time would let another watchdog hand the same work on.
        heartbeat.start()
        # Steps wait until every flow module is registered: the work launch resumes or
        # dequeues needs the flows' configuration.
        engine.launch(hold_steps=True)
        # The one flow context of this process, set before the flows register (they and
        # their steps read it), closed when the runtime stops.
        if context is None:
            context = FlowContext(settings, bootstrap(settings))
        context.engine = engine
        set_flow_context(context)
        for module in modules:
            register = getattr(module, "register", None)
            if register is not None:
                register(engine, settings)
        engine.release_steps()
        watchdog = Watchdog(
            store,
            engine,
            own_executor_id=config.executor_id,
            timeout_seconds=settings.engine.heartbeat_timeout_seconds,
            interval_seconds=interval,
        )
        watchdog.start()
    except BaseException:
        engine.destroy()
        clear_flow_context()
        heartbeat.stop()
        store.dispose()
        raise
    logger.info("engine %s ready (%s)", config.executor_id, role)
    return Runtime(
        engine=engine,
        heartbeat=heartbeat,
        watchdog=watchdog,
        store=store,
        drain_seconds=settings.engine.shutdown_grace_seconds,
    )


@contextmanager
def _stop_on_signals(stop: threading.Event, drain_seconds: float = DRAIN_SECONDS) -> Iterator[None]:
    """SIGTERM/SIGINT set ``stop`` (only possible from the main thread); a second signal
    while the shutdown runs ends the process at once (a stuck thread must not keep it)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            os._exit(128 + signum)
        # The process ends after this stop: drain, and never take longer than the
        # drain's bound (before, a worker ignored SIGTERM for over 15 s).
        exit_after_stop()
        print(
            f"mirakl-sync: stopping: letting the steps in flight finish (at most "
            f"{drain_seconds:.0f} s; signal again to stop at once)",
            file=sys.stderr,
            flush=True,
        )
        timer = threading.Timer(DRAIN_SECONDS + EXIT_MARGIN_SECONDS, os._exit, args=(128 + signum,))
        timer.daemon = True
        timer.start()
        stop.set()

    previous: dict[signal.Signals, Any] = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _run(
    settings: Settings, *, role: str, executor_id: str | None, stop: threading.Event | None
) -> None:
    stop_event = stop if stop is not None else threading.Event()
    with _stop_on_signals(stop_event, settings.engine.shutdown_grace_seconds):
        runtime = start_runtime(settings, role=role, executor_id=executor_id)
        try:
            stop_event.wait()
        finally:
            runtime.stop()


def run_worker(
    settings: Settings, *, executor_id: str | None = None, stop: threading.Event | None = None
) -> None:
    """Run queued workflows until SIGTERM/SIGINT or ``stop`` is set."""
    _run(settings, role="worker", executor_id=executor_id, stop=stop)


def run_hub(
    settings: Settings, *, executor_id: str | None = None, stop: threading.Event | None = None
) -> None:
    """The engine half of ``mirakl-sync run`` (embedded mode); the web half is composed
    by the entry point around :func:`start_runtime`."""
    _run(settings, role="hub", executor_id=executor_id, stop=stop)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run one mirakl-sync engine worker.")
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--executor-id", default=None)
    args = parser.parse_args(argv)
    settings = load_settings(args.config)
    logging.basicConfig(
        level=settings.logging.level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    run_worker(settings, executor_id=args.executor_id)


if __name__ == "__main__":
    main()
