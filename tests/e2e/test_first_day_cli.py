"""Issue 9, failures 6-9: the CLI as a first-day user meets it (real subprocesses).

Bounds are subprocess timeouts, never timed assertions: a command that hangs fails the
test by timing out, a command that answers passes however fast the machine is.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sandbox_process import EXECUTABLE, free_port, running_sandbox, write_sandbox_config

from mirakl_sync.adapters.store.database import create_store_engine
from mirakl_sync.adapters.store.exception_log import SqlExceptionLog
from mirakl_sync.adapters.store.tables import executors
from mirakl_sync.config import load_settings
from mirakl_sync.domain.exceptions import ExceptionReport, OwnerTeam, Severity
from mirakl_sync.entrypoints.demo import demo_config
from mirakl_sync.sandbox.server import MARKETPLACES, SHOPIFY_TOKEN
from mirakl_sync.workflows.engine import PENDING, EngineClient

UNREACHABLE = "http://127.0.0.1:9/mirakl/debenhams"


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "MIRAKL_SYNC_CONFIG"}


def cli(
    *args: str, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = _env()
    environment.update(env or {})
    return subprocess.run(
        [str(EXECUTABLE), *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def waiting_orders(base: str) -> dict[str, str]:
    """order id -> marketplace code, of every order awaiting acceptance."""
    found: dict[str, str] = {}
    for market in MARKETPLACES:
        body = httpx.get(
            f"{base}/mirakl/{market.code}/api/orders",
            params={"max": 100, "order_state_codes": "WAITING_ACCEPTANCE"},
            headers={"Authorization": market.api_key},
        ).json()
        for order in body["orders"]:
            if order["order_state"] == "WAITING_ACCEPTANCE":
                found[order["order_id"]] = market.code
    return found


@contextmanager
def running_hub(config: Path) -> Iterator[subprocess.Popen[str]]:
    """``mirakl-sync run`` on ``config``; yields once its executor heartbeats."""
    log = config.with_name("hub.log")
    with log.open("w") as output:
        process = subprocess.Popen(
            [str(EXECUTABLE), "run", "--config", str(config)],
            env=_env(),
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            store = create_store_engine(load_settings(config).database_url)
            deadline = time.monotonic() + 60
            while True:
                with store.connect() as connection:
                    rows = connection.execute(
                        sa.select(executors.c.role).where(executors.c.status == "alive")
                    ).all()
                if any(row.role == "hub" for row in rows):
                    break
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"the hub did not start: {log.read_text()}")
                time.sleep(0.3)
            store.dispose()
            yield process
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


# --------------------------------------------------------------------------- failure 6


def test_sync_orders_once_next_to_a_running_hub_refuses_in_one_line_and_intake_goes_on(
    tmp_path: Path,
) -> None:
    config = write_sandbox_config(
        tmp_path, orders_per_hour=1800, call_frequency_scale=0, call_budget_scale=0
    )
    assert cli("db", "upgrade", "--config", str(config)).returncode == 0
    settings = load_settings(config)
    with running_sandbox(config) as base, running_hub(config) as hub:
        once = cli("sync", "orders", "--once", "--config", str(config), timeout=120)
        assert once.returncode == 3, once.stdout + once.stderr
        lines = once.stderr.strip().splitlines()
        assert len(lines) == 1, once.stderr
        assert "running" in lines[0] and "Traceback" not in once.stderr
        # The CLI took no work: nothing is PENDING under an executor that is not alive.
        with EngineClient.from_settings(settings) as client:
            pending = client.list_workflows(status=PENDING, load_output=False)
        store = create_store_engine(settings.database_url)
        with store.connect() as connection:
            alive = {
                row.executor_id
                for row in connection.execute(
                    sa.select(executors.c.executor_id).where(executors.c.status == "alive")
                )
            }
        store.dispose()
        assert {w.executor_id for w in pending} <= alive
        # The hub keeps pulling: an order placed now is still decided.
        deadline = time.monotonic() + 60
        while not (fresh := set(waiting_orders(base))):
            assert time.monotonic() < deadline, "the sandbox placed no order"
            time.sleep(0.5)
        deadline = time.monotonic() + 90
        while fresh & set(waiting_orders(base)):
            assert hub.poll() is None, "the hub died"
            assert time.monotonic() < deadline, "the hub stopped deciding orders"
            time.sleep(1)


def test_sync_orders_once_without_a_hub_heartbeats_and_leaves_nothing_pending(
    tmp_path: Path,
) -> None:
    config = write_sandbox_config(
        tmp_path, orders_per_hour=3600, call_frequency_scale=0, call_budget_scale=0
    )
    assert cli("db", "upgrade", "--config", str(config)).returncode == 0
    settings = load_settings(config)
    with running_sandbox(config):
        once = cli("sync", "orders", "--once", "--config", str(config), timeout=240)
    assert once.returncode == 0, once.stderr
    assert "Traceback" not in once.stderr
    store = create_store_engine(settings.database_url)
    with store.connect() as connection:
        rows = connection.execute(sa.select(executors.c.role, executors.c.status)).all()
    store.dispose()
    # The --once process owned engine work, so it had a heartbeat row (the watchdog can
    # recover what it leaves), and it said it stopped.
    assert [(row.role, row.status) for row in rows] == [("once", "stopped")]
    with EngineClient.from_settings(settings) as client:
        assert client.list_workflows(status=PENDING, load_output=False) == []


def _on_database(config: Path, database_url: str) -> None:
    lines = config.read_text().splitlines()
    config.write_text(
        "\n".join(
            f'database_url = "{database_url}"' if line.startswith("database_url =") else line
            for line in lines
        )
        + "\n"
    )


def test_run_after_sync_orders_once_stays_up_and_decides_new_orders(
    tmp_path: Path, database_url: str
) -> None:
    """``--once`` twice, then ``run`` on the same database (SQLite and PostgreSQL).

    Before the fix ``run`` exited 1 at start: the ``--once`` run had registered the
    ``orders`` queue under its own engine namespace, and DBOS queue names are unique
    across the applications sharing a system database.
    """
    config = write_sandbox_config(
        tmp_path, orders_per_hour=1800, call_frequency_scale=0, call_budget_scale=0
    )
    _on_database(config, database_url)
    assert cli("db", "upgrade", "--config", str(config)).returncode == 0
    with running_sandbox(config) as base:
        for _ in range(2):
            once = cli("sync", "orders", "--once", "--config", str(config), timeout=240)
            assert once.returncode == 0, once.stdout + once.stderr
            assert "Traceback" not in once.stderr, once.stderr
        with running_hub(config) as hub:
            deadline = time.monotonic() + 60
            while not (fresh := set(waiting_orders(base))):
                assert hub.poll() is None, config.with_name("hub.log").read_text()
                assert time.monotonic() < deadline, "the sandbox placed no order"
                time.sleep(0.5)
            deadline = time.monotonic() + 90
            while fresh & set(waiting_orders(base)):
                assert hub.poll() is None, config.with_name("hub.log").read_text()
                assert time.monotonic() < deadline, "the hub stopped deciding orders"
                time.sleep(1)
            assert hub.poll() is None, config.with_name("hub.log").read_text()
        # And a --once after the hub stopped still runs (the hub's queues and its
        # version are no obstacle to the --once namespace either).
        after = cli("sync", "orders", "--once", "--config", str(config), timeout=240)
        assert after.returncode == 0, after.stdout + after.stderr


# --------------------------------------------------------------------------- failure 7


def test_sync_orders_once_with_a_marketplace_unreachable_says_so_in_one_line(
    tmp_path: Path,
) -> None:
    config = write_sandbox_config(tmp_path, call_frequency_scale=0, call_budget_scale=1.0)
    text = config.read_text()
    reachable = re.search(r'base_url = "(http://127\.0\.0\.1:\d+)/mirakl/debenhams"', text)
    assert reachable is not None
    config.write_text(text.replace(f"{reachable.group(1)}/mirakl/debenhams", UNREACHABLE))
    assert cli("db", "upgrade", "--config", str(config)).returncode == 0
    with running_sandbox(config):
        # The bound: the real Call Frequency budgets (1 OR11 a minute) are on, so a run
        # that retried the unreachable marketplace would take minutes.
        once = cli("sync", "orders", "--once", "--config", str(config), timeout=50)
    assert "Traceback" not in once.stderr and "DBOS" not in once.stderr, once.stderr
    errors = [line for line in once.stderr.splitlines() if UNREACHABLE in line]
    assert len(errors) == 1 and "debenhams" in errors[0], once.stderr
    assert len(once.stderr.strip().splitlines()) <= 3, once.stderr
    # The other marketplaces were still pulled.
    pulled = [line.split(":")[0] for line in once.stdout.strip().splitlines()]
    assert pulled == [m.code for m in MARKETPLACES if m.code != "debenhams"], once.stdout
    assert once.returncode == 0


def test_sync_orders_once_with_nothing_reachable_exits_3_in_one_line(tmp_path: Path) -> None:
    config = tmp_path / "mirakl-sync.toml"
    config.write_text(
        f'database_url = "sqlite:///{tmp_path / "hub.db"}"\n'
        '[shopify]\nshop = "fjellrev.myshopify.com"\naccess_token = "t"\n'
        'base_url = "http://127.0.0.1:9"\n'
        f'[[marketplaces]]\ncode = "debenhams"\nbase_url = "{UNREACHABLE}"\napi_key = "k"\n'
    )
    assert cli("db", "upgrade", "--config", str(config)).returncode == 0
    once = cli("sync", "orders", "--once", "--config", str(config), timeout=50)
    assert once.returncode == 3, once.stderr
    assert "Traceback" not in once.stderr, once.stderr
    last = once.stderr.strip().splitlines()[-1]
    assert "debenhams" in last and UNREACHABLE in last, once.stderr


# --------------------------------------------------------------------------- failure 8

HANGING_THREAD = textwrap.dedent(
    """
    import sys, threading, time
    # A thread waiting a day, as a step asleep on a far budget slot does: it must not
    # keep the process alive after Ctrl+C.
    threading.Thread(target=time.sleep, args=(86400,), name="day-long-wait").start()
    from mirakl_sync.entrypoints.cli import main
    sys.argv = ["mirakl-sync", *sys.argv[1:]]
    main()
    """
)


def _wait_for_page(port: int, process: subprocess.Popen[str], log: Path) -> None:
    deadline = time.monotonic() + 90
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
            return
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"did not start: {log.read_text()}") from None
            time.sleep(0.3)


def test_ctrl_c_stops_the_hub_even_when_a_thread_waits_for_a_day(tmp_path: Path) -> None:
    config = write_sandbox_config(tmp_path, call_frequency_scale=0, call_budget_scale=0)
    port = load_settings(config).web.port
    assert cli("db", "upgrade", "--config", str(config)).returncode == 0
    log = tmp_path / "run.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-c", HANGING_THREAD, "run", "--config", str(config)],
            env=_env(),
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            _wait_for_page(port, process, log)
            process.send_signal(signal.SIGINT)
            code = process.wait(timeout=45)
        finally:
            if process.poll() is None:
                process.kill()
    assert code != 0  # interrupted, not "done"
    assert "Traceback" not in log.read_text(), log.read_text()


def test_ctrl_c_stops_the_demo(tmp_path: Path) -> None:
    port, sandbox = free_port(), free_port()
    log = tmp_path / "demo.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                HANGING_THREAD,
                "demo",
                "--dir",
                str(tmp_path / "demo"),
                "--port",
                str(port),
                "--sandbox-port",
                str(sandbox),
            ],
            env=_env(),
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            _wait_for_page(port, process, log)
            time.sleep(2)  # let the flows start work
            process.send_signal(signal.SIGINT)
            process.wait(timeout=45)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode is not None


# --------------------------------------------------------------------------- failure 9


def write_plain_config(directory: Path) -> Path:
    path = directory / "mirakl-sync.toml"
    path.write_text(
        f'database_url = "sqlite:///{directory / "hub.db"}"\n'
        '[shopify]\nshop = "fjellrev.myshopify.com"\naccess_token = "t"\n'
        'base_url = "http://127.0.0.1:9"\n'
        f'[[marketplaces]]\ncode = "debenhams"\nbase_url = "{UNREACHABLE}"\napi_key = "k"\n'
    )
    return path


def test_config_option_before_the_command(tmp_path: Path) -> None:
    config = write_plain_config(tmp_path)
    before = cli("--config", str(config), "db", "upgrade")
    assert before.returncode == 0, before.stderr
    listed = cli("--config", str(config), "exceptions", "list")
    assert listed.returncode == 0, listed.stderr
    short = cli("-c", str(config), "mappings", "list")
    assert short.returncode == 0, short.stderr
    # After the command still works, and wins when both are given.
    assert cli("exceptions", "list", "--config", str(config)).returncode == 0
    both = cli("--config", str(tmp_path / "nope.toml"), "exceptions", "list", "-c", str(config))
    assert both.returncode == 0, both.stderr


def test_version_option() -> None:
    from importlib.metadata import version

    shown = cli("--version")
    assert shown.returncode == 0
    assert shown.stdout.strip() == f"mirakl-sync {version('mirakl-sync')}"


def _record_advice(config: Path) -> None:
    engine = create_store_engine(load_settings(config).database_url)
    SqlExceptionLog(engine).record(
        ExceptionReport(
            type="carrier_unmapped",
            owner=OwnerTeam.OPS,
            severity=Severity.WARNING,
            marketplace="debenhams",
            entity_type="fulfilment",
            entity_id="gid://shopify/Fulfillment/123456789",
            message="Shopify carrier 'Parcelforce' has no Mirakl code: add it under "
            '[carriers] in mirakl-sync.toml (e.g. "Parcelforce" = "PF") and the '
            "shipment is sent on the next pass",
        ),
        datetime.now(UTC),
    )
    engine.dispose()


def test_exceptions_list_keeps_brackets_and_fits_100_columns(tmp_path: Path) -> None:
    config = write_plain_config(tmp_path)
    assert cli("db", "upgrade", "-c", str(config)).returncode == 0
    _record_advice(config)
    listed = cli("exceptions", "list", "-c", str(config), env={"COLUMNS": "100"})
    assert listed.returncode == 0, listed.stderr
    assert "[carriers]" in listed.stdout, listed.stdout
    assert "Parcelforce" in listed.stdout and "gid://shopify/Fulfillment/123456789" in listed.stdout
    assert max(len(line) for line in listed.stdout.splitlines()) <= 100, listed.stdout


def test_choices_are_case_insensitive_and_marketplace_typos_are_refused(tmp_path: Path) -> None:
    config = write_plain_config(tmp_path)
    assert cli("db", "upgrade", "-c", str(config)).returncode == 0
    _record_advice(config)
    ops = cli("exceptions", "list", "--owner", "Ops", "--status", "ALL", "-c", str(config))
    assert ops.returncode == 0, ops.stderr
    as_json = cli("exceptions", "list", "--owner", "OPS", "--json", "-c", str(config))
    assert json.loads(as_json.stdout.splitlines()[0])["owner"] == "ops"
    for command in (
        ["exceptions", "list", "--marketplace", "debenham"],
        ["mappings", "list", "--marketplace", "debenham"],
        ["mappings", "remove", "SKU-1", "--marketplace", "debenham"],
    ):
        typo = cli(*command, "-c", str(config))
        assert typo.returncode == 2, (command, typo.stdout, typo.stderr)
        assert "unknown marketplace 'debenham'" in typo.stderr and "debenhams" in typo.stderr


def _a_shop_sku(base: str) -> str:
    body = httpx.post(
        f"{base}/admin/api/2026-10/graphql.json",
        json={"query": "{ productVariants(first: 1) { nodes { sku } } }"},
        headers={"X-Shopify-Access-Token": SHOPIFY_TOKEN},
    ).json()
    return str(body["data"]["productVariants"]["nodes"][0]["sku"])


def test_mappings_add_refuses_a_target_that_exists_nowhere(tmp_path: Path) -> None:
    config = write_sandbox_config(tmp_path, call_frequency_scale=0, call_budget_scale=0)
    assert cli("db", "upgrade", "-c", str(config)).returncode == 0
    with running_sandbox(config) as base:
        sku = _a_shop_sku(base)
        good = cli("mappings", "add", "MKT-1", sku, "-c", str(config))
        assert good.returncode == 0, good.stderr
        nowhere = cli("mappings", "add", "MKT-2", "NO-SUCH-SKU", "-c", str(config))
        assert nowhere.returncode == 2, nowhere.stdout + nowhere.stderr
        assert "NO-SUCH-SKU" in nowhere.stderr and "--force" in nowhere.stderr
        item = cli(
            "mappings",
            "add",
            "MKT-3",
            "NO-SUCH-SERIAL",
            "--system",
            "Supercycle",
            "-c",
            str(config),
        )
        assert item.returncode == 2, item.stdout + item.stderr
        forced = cli("mappings", "add", "MKT-2", "NO-SUCH-SKU", "--force", "-c", str(config))
        assert forced.returncode == 0, forced.stderr
    listed = cli("mappings", "list", "-c", str(config)).stdout
    assert "MKT-1" in listed and "MKT-2" in listed and "MKT-3" not in listed


def test_demo_accept_by_matches_its_sandbox_refusal_window(tmp_path: Path) -> None:
    config = tmp_path / "mirakl-sync.toml"
    config.write_text(demo_config(tmp_path, port=8080, sandbox_port=9100, orders_per_hour=60))
    settings = load_settings(config)
    window = settings.sandbox.acceptance_window_seconds
    for market in settings.marketplaces:
        assert market.acceptance_window_hours * 3600 == pytest.approx(window)
