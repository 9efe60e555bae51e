"""A marketplace's pull queue never holds more than one pull (issue 10, item 6).

Under faults a pull took longer than the schedule's period, and every tick enqueued one
more pull behind it: 257 to 418 scheduled pulls piled up. Here OR11 of one marketplace
hangs (a gate the test opens), the schedule fires several times while the first pull is
stuck, and the queue must still hold that one pull only; once it finishes, the next tick
pulls again (the guard does not stop pulls for good).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from orders_sandbox import hub_settings

from mirakl_sync.adapters.store.migrations import upgrade_database
from mirakl_sync.bootstrap import Transports, bootstrap
from mirakl_sync.config import SandboxSettings, Settings
from mirakl_sync.sandbox.server import MARKETPLACES, Sandbox, build_sandbox
from mirakl_sync.workflows import orders
from mirakl_sync.workflows.engine import Engine, WorkflowInfo, engine_config_from_settings
from mirakl_sync.workflows.flow_context import FlowContext, clear_flow_context, set_flow_context

pytestmark = pytest.mark.timeout(120)

HUNG = "debenhams"


class GatedOrders(httpx.AsyncBaseTransport):
    """The sandbox, except that OR11 (``GET /api/orders``) waits until ``gate`` opens."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.gate = threading.Event()
        self.waiting = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/api/orders") and request.method == "GET":
            self.waiting += 1
            while not self.gate.is_set():
                await asyncio.sleep(0.05)
        return await self.inner.handle_async_request(request)


@pytest.fixture
def sandbox() -> Sandbox:
    return build_sandbox(SandboxSettings(orders_per_hour=0, call_frequency_scale=0))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = hub_settings(tmp_path)
    upgrade_database(settings.database_url)
    return settings


@pytest.fixture
def hub(sandbox: Sandbox, settings: Settings) -> Iterator[tuple[Engine, GatedOrders]]:
    plain = httpx.ASGITransport(app=sandbox.app)
    gated = GatedOrders(plain)
    transports = Transports(
        shopify=plain,
        supercycle=plain,
        mirakl={m.code: (gated if m.code == HUNG else plain) for m in MARKETPLACES},
    )
    engine = Engine(engine_config_from_settings(settings))
    try:
        engine.launch()
        set_flow_context(FlowContext(settings, bootstrap(settings, transports=transports), engine))
        orders.register(engine, settings)
        yield engine, gated
    finally:
        gated.gate.set()
        clear_flow_context()
        engine.destroy()


def _pull_queue_runs(engine: Engine, code: str) -> list[WorkflowInfo]:
    return engine.list_workflows(queue_name=orders.PULL_QUEUE_PREFIX + code, load_output=False)


def _wait(condition: object, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.1)


def test_ticks_while_a_pull_hangs_leave_one_pull_on_the_queue(
    hub: tuple[Engine, GatedOrders],
) -> None:
    engine, gated = hub
    schedule = f"orders-pull-{HUNG}"
    engine.trigger_schedule(schedule)
    _wait(lambda: gated.waiting >= 1)
    assert gated.waiting >= 1, "the first pull never reached OR11"

    for _ in range(3):
        engine.trigger_schedule(schedule)
    # Let the engine take the ticks in (one queue poll is 0.1 s; a tick is one small
    # workflow): whatever they did is visible once no tick is left unfinished.
    _wait(
        lambda: (
            all(
                run.is_terminal
                for run in engine.list_workflows(name=orders.SCHEDULED_PULL_WORKFLOW)
                if run.queue_name != orders.PULL_QUEUE_PREFIX + HUNG
            )
            and len(engine.list_workflows(name=orders.SCHEDULED_PULL_WORKFLOW)) >= 4
        ),
        seconds=10,
    )
    waiting = [run for run in _pull_queue_runs(engine, HUNG) if not run.is_terminal]
    assert len(waiting) == 1, [(run.workflow_id, run.status) for run in waiting]

    gated.gate.set()
    _wait(lambda: all(run.is_terminal for run in _pull_queue_runs(engine, HUNG)))
    finished = _pull_queue_runs(engine, HUNG)
    assert [run.status for run in finished] == ["SUCCESS"] * len(finished)

    # The guard holds only while a pull is queued or running: the next tick pulls.
    before = len(finished)
    engine.trigger_schedule(schedule)
    _wait(lambda: len(_pull_queue_runs(engine, HUNG)) > before)
    assert len(_pull_queue_runs(engine, HUNG)) == before + 1


def test_a_pull_queued_by_an_older_release_does_not_hold_the_queue(
    sandbox: Sandbox, settings: Settings
) -> None:
    """The engine dequeues only workflows of its own application version, so a pull an
    older release left ENQUEUED under its own version (a hub before the pinned version
    hashed its code) would never run again and, with the one-pull-per-marketplace guard,
    hold that marketplace's pulls for good after an upgrade. The starting hub takes it
    on: it runs, and the pulls go on."""
    import sqlalchemy as sa

    from mirakl_sync.workflows.engine import enqueue, system_database_url_for

    plain = httpx.ASGITransport(app=sandbox.app)
    transports = Transports(
        shopify=plain, supercycle=plain, mirakl={m.code: plain for m in MARKETPLACES}
    )
    older = Engine(engine_config_from_settings(settings))
    try:
        older.launch()
        # What an older release left: a pull holding the marketplace's deduplication ID,
        # ENQUEUED (its queue is not registered here, so nothing dequeues it).
        old = enqueue(
            orders.pull_queue(HUNG),
            orders.pull_marketplace,
            HUNG,
            "old",
            workflow_id=f"order-pull:{HUNG}:old",
            deduplication_id=orders.pull_dedup_id(HUNG),
        )
    finally:
        older.destroy()
    system_db = sa.create_engine(system_database_url_for(settings))
    with system_db.begin() as connection:
        connection.execute(
            sa.text(
                "UPDATE workflow_status SET application_version = 'older-release' "
                "WHERE workflow_uuid = :id"
            ),
            {"id": old.workflow_id},
        )
    system_db.dispose()

    engine = Engine(engine_config_from_settings(settings))
    try:
        engine.launch()
        set_flow_context(FlowContext(settings, bootstrap(settings, transports=transports), engine))
        orders.register(engine, settings)
        _wait(
            lambda: len([r for r in _pull_queue_runs(engine, HUNG) if r.status == "SUCCESS"]) >= 2
        )
        (left,) = engine.list_workflows(workflow_ids=[old.workflow_id], load_output=False)
        assert (left.status, left.app_version) == ("SUCCESS", engine.application_version), left
    finally:
        clear_flow_context()
        engine.destroy()
