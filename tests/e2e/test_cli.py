"""The ``mirakl-sync`` command as a user runs it: a real subprocess, real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mirakl_sync.adapters.store.database import create_store_engine
from mirakl_sync.adapters.store.exception_log import SqlExceptionLog
from mirakl_sync.domain.exceptions import ExceptionReport, OwnerTeam, Severity

EXECUTABLE = Path(sys.executable).with_name("mirakl-sync")


def cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "MIRAKL_SYNC_CONFIG"}
    environment.update(env or {})
    return subprocess.run(
        [str(EXECUTABLE), *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def write_config(directory: Path, extra: str = "") -> Path:
    path = directory / "mirakl-sync.toml"
    path.write_text(
        f'database_url = "sqlite:///{directory / "hub.db"}"\n'
        "[shopify]\n"
        'shop = "fjellrev.myshopify.com"\n'
        'access_token = "${SHOPIFY_ACCESS_TOKEN}"\n'
        "[[marketplaces]]\n"
        'code = "debenhams"\n'
        'base_url = "http://127.0.0.1:9/mirakl/debenhams"\n'
        'api_key = "super-secret-mirakl-key"\n' + extra
    )
    return path


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["demo"],
        ["run"],
        ["worker"],
        ["sandbox"],
        ["db"],
        ["db", "upgrade"],
        ["doctor"],
        ["exceptions"],
        ["exceptions", "list"],
        ["sync"],
        ["mappings"],
        ["mappings", "add"],
        ["mappings", "list"],
        ["mappings", "remove"],
        ["offers"],
        ["offers", "status"],
    ],
)
def test_every_command_has_help(command: list[str], tmp_path: Path) -> None:
    result = cli(*command, "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout


def test_config_problems_are_one_line_each_with_file_and_key(tmp_path: Path) -> None:
    write_config(tmp_path, "shop_id = 'abc'\nbogus_key = 1\n")
    result = cli("db", "upgrade", cwd=tmp_path, env={})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert (
        "mirakl-sync.toml: shopify.access_token: "
        "environment variable SHOPIFY_ACCESS_TOKEN is not set" in lines[0]
    )
    assert any("marketplaces[0].shop_id:" in line for line in lines)
    assert any("marketplaces[0].bogus_key: unknown key" in line for line in lines)
    assert "super-secret-mirakl-key" not in result.stderr + result.stdout


def test_missing_config_file_says_how_to_provide_one(tmp_path: Path) -> None:
    result = cli("exceptions", "list", cwd=tmp_path)
    assert result.returncode == 2
    assert "config file not found" in result.stderr and "--config" in result.stderr


def test_config_is_found_through_the_environment_variable(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = cli(
        "db",
        "upgrade",
        cwd=elsewhere,
        env={"MIRAKL_SYNC_CONFIG": str(config), "SHOPIFY_ACCESS_TOKEN": "t"},
    )
    assert result.returncode == 0, result.stderr
    assert "database is at revision" in result.stdout


def test_exceptions_list_shows_what_flows_recorded(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    env = {"SHOPIFY_ACCESS_TOKEN": "t"}
    assert cli("db", "upgrade", "--config", str(config), cwd=tmp_path, env=env).returncode == 0
    engine = create_store_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    SqlExceptionLog(engine).record(
        ExceptionReport(
            type="carrier_rejected",
            owner=OwnerTeam.OPS,
            severity=Severity.ERROR,
            entity_type="order",
            entity_id="1001-A",
            marketplace="debenhams",
            message="carrier code 'ROYALMAIL' is not in the marketplace's SH21 list",
        ),
        datetime.now(UTC),
    )
    engine.dispose()

    table = cli("exceptions", "list", "--config", str(config), cwd=tmp_path, env=env)
    assert table.returncode == 0, table.stderr
    assert "carrier_rejected" in table.stdout and "1001-A" in table.stdout

    as_json = cli("exceptions", "list", "--json", "--config", str(config), cwd=tmp_path, env=env)
    rows = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [(r["type"], r["owner"], r["entity_id"]) for r in rows] == [
        ("carrier_rejected", "ops", "1001-A")
    ]
    finance = cli(
        "exceptions", "list", "--owner", "finance", "--config", str(config), cwd=tmp_path, env=env
    )
    assert "No open exceptions" in finance.stdout


def test_sync_once_of_a_flow_not_yet_built_exits_non_zero_with_a_reason(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    result = cli(
        "sync",
        "settlements",
        "--once",
        "--config",
        str(config),
        cwd=tmp_path,
        env={"SHOPIFY_ACCESS_TOKEN": "t"},
    )
    assert result.returncode == 3
    assert len(result.stderr.strip().splitlines()) == 1
    assert "settlements" in result.stderr


def test_sync_of_an_unknown_flow_is_a_usage_error(tmp_path: Path) -> None:
    result = cli("sync", "teleport", "--once", cwd=tmp_path)
    assert result.returncode == 2


def test_sku_mappings_are_added_listed_and_removed(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    env = {"SHOPIFY_ACCESS_TOKEN": "t"}
    args = ("--config", str(config))
    assert cli("db", "upgrade", *args, cwd=tmp_path, env=env).returncode == 0

    # No Shopify answers here: --force binds without checking that the target exists
    # (the check itself is tested against the sandbox in test_first_day_cli.py).
    added = cli(
        "mappings",
        "add",
        "DEB-123",
        "FJ-JAC-0001-M",
        "--marketplace",
        "debenhams",
        "--force",
        *args,
        cwd=tmp_path,
        env=env,
    )
    assert added.returncode == 0, added.stderr
    everywhere = cli(
        "mappings",
        "add",
        "OLD-9",
        "SC000042",
        "--system",
        "supercycle",
        "--force",
        *args,
        cwd=tmp_path,
        env=env,
    )
    assert everywhere.returncode == 0, everywhere.stderr
    listed = cli("mappings", "list", *args, cwd=tmp_path, env=env).stdout.splitlines()
    assert listed == [
        "debenhams\tDEB-123\tshopify\tFJ-JAC-0001-M",
        "*\tOLD-9\tsupercycle\tSC000042",
    ]

    typo = cli(
        "mappings", "add", "X", "Y", "--marketplace", "debenhms", *args, cwd=tmp_path, env=env
    )
    assert typo.returncode == 2 and "unknown marketplace 'debenhms'" in typo.stderr

    assert cli("mappings", "remove", "OLD-9", *args, cwd=tmp_path, env=env).returncode == 0
    again = cli("mappings", "remove", "OLD-9", *args, cwd=tmp_path, env=env)
    assert again.returncode == 1 and "no mapping of OLD-9" in again.stderr
