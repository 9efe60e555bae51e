"""The ``--once`` engine namespace next to the hub's, on one system database.

Queue names are global to a DBOS system database (the first application registering one
owns it), so the namespace of ``sync orders --once`` must never hold a hub's queue name.
The end-to-end check (``--once`` then ``run``) is in tests/e2e/test_first_day_cli.py;
these are the engine-level pieces, in process.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mirakl_sync.bootstrap import bootstrap
from mirakl_sync.config import load_settings
from mirakl_sync.workflows import orders
from mirakl_sync.workflows.engine import APP_NAME, ONCE_APP_NAME, Engine, EngineConfig
from mirakl_sync.workflows.flow_context import FlowContext, using_flow_context


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "mirakl-sync.toml"
    path.write_text(
        f'database_url = "sqlite:///{tmp_path / "hub.db"}"\n'
        '[shopify]\nshop = "fjellrev.myshopify.com"\naccess_token = "t"\n'
        'base_url = "http://127.0.0.1:9"\n'
        '[[marketplaces]]\ncode = "debenhams"\n'
        'base_url = "http://127.0.0.1:9/mirakl/debenhams"\napi_key = "k"\n'
    )
    return path


def _engine(tmp_path: Path, application_name: str) -> Engine:
    return Engine(
        EngineConfig(
            system_database_url=f"sqlite:///{tmp_path / 'hub-engine.db'}",
            executor_id=f"host-{application_name}",
            application_name=application_name,
        )
    )


def test_a_queue_name_belongs_to_the_first_namespace_that_registers_it(tmp_path: Path) -> None:
    """The cause: why the --once namespace needs queue names of its own."""
    with _engine(tmp_path, ONCE_APP_NAME) as engine:
        engine.register_queue("shared-name")
    with (
        _engine(tmp_path, APP_NAME) as engine,
        pytest.raises(Exception, match="already registered"),
    ):
        engine.register_queue("shared-name")


def test_the_hub_registers_its_queues_after_an_older_once_took_orders(tmp_path: Path) -> None:
    """A database where a release before the fix ran ``sync orders --once``: the
    ``orders`` queue is held by the --once namespace; the hub takes it back."""
    settings = load_settings(_config(tmp_path))
    with _engine(tmp_path, ONCE_APP_NAME) as engine:
        engine.register_queue(orders.ORDER_QUEUE)
    with (
        _engine(tmp_path, APP_NAME) as engine,
        using_flow_context(FlowContext(settings, bootstrap(settings), engine)),
    ):
        orders.register(engine, settings)  # raised "Queue 'orders' is already registered"
        assert not engine.reclaim_queue(orders.ORDER_QUEUE, from_application=ONCE_APP_NAME)
    # And the --once namespace still registers its own queue afterwards.
    with _engine(tmp_path, ONCE_APP_NAME) as engine:
        engine.register_queue(orders.ONCE_ORDER_QUEUE)
        assert orders.ONCE_ORDER_QUEUE != orders.ORDER_QUEUE
