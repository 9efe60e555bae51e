"""The engine runtime: one engine process with its heartbeat and its watchdog.

``start_runtime`` imports the flow modules (their decorators register the workflows),
launches the engine (which recovers this executor's own unfinished work), lets each flow
module create its queues and schedules, then starts the heartbeat and the watchdog.
``run_worker`` (``mirakl-sync worker``) and ``run_hub`` (``mirakl-sync run``) block on it
until SIGTERM/SIGINT or ``stop`` is set.

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
from mirakl_sync.config import Settings, load_settings
from mirakl_sync.errors import ConfigError
from mirakl_sync.workflows.engine import Engine, engine_config_from_settings
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


@dataclass
class Runtime:
    """A running engine process; :meth:`stop` shuts it down cleanly."""

    engine: Engine
    heartbeat: Heartbeat
    watchdog: Watchdog
    store: sa.Engine

    @property
    def executor_id(self) -> str:
        return self.engine.executor_id

    def stop(self, *, wait_seconds: int = 0) -> None:
        """Stop watching, stop the engine, then record ``stopped``.

        Workflows still running stay PENDING; this executor ID resumes them when it
        starts again, or the watchdogs of the others hand them on after the timeout.
        """
        self.watchdog.stop()
        try:
            self.engine.destroy(wait_seconds=wait_seconds)
        finally:
            self.heartbeat.stop()
            self.store.dispose()


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
) -> Runtime:
    """Launch the engine, the heartbeat and the watchdog for this process."""
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
        engine.launch()
        for module in modules:
            register = getattr(module, "register", None)
            if register is not None:
                register(engine, settings)
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
        heartbeat.stop()
        store.dispose()
        raise
    logger.info("engine %s ready (%s)", config.executor_id, role)
    return Runtime(engine=engine, heartbeat=heartbeat, watchdog=watchdog, store=store)


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM/SIGINT set ``stop`` (only possible from the main thread); a second signal
    while the shutdown runs ends the process at once (a stuck thread must not keep it)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            os._exit(128 + signum)
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
    with _stop_on_signals(stop_event):
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
