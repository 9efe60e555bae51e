"""The ``mirakl-sync`` command line.

``--config PATH`` goes before the command (``mirakl-sync --config FILE doctor``, as in
git or kubectl) or after it; after wins. Else ``$MIRAKL_SYNC_CONFIG``, else
``./mirakl-sync.toml``. Choices (``--owner Ops``, ``--status ALL``) ignore case.
Commands import what they need when they run, so ``--help`` is instant and nothing is
built at import time. Exit codes: 0 done; 1 the command ran but found problems
(``doctor``); 2 configuration or usage error; 3 could not run. The options every command
shares are in ``cli_options``; the catalogue commands (``mappings``, ``offers``) in
``cli_catalogue``.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from mirakl_sync.config import Settings
from mirakl_sync.entrypoints.cli_catalogue import mappings_app, offers_app
from mirakl_sync.entrypoints.cli_options import (
    GLOBAL_CONFIG,
    ConfigOption,
    check_marketplace,
    cli_settings,
    config_path,
    fail,
)
from mirakl_sync.errors import ConfigError, MiraklSyncError

app = typer.Typer(
    name="mirakl-sync",
    help="Keep a Shopify store (with Supercycle items) and Mirakl marketplaces in step.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Manage the hub's database.", no_args_is_help=True)
exceptions_app = typer.Typer(help="Records that could not go through.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(exceptions_app, name="exceptions")
app.add_typer(mappings_app, name="mappings")
app.add_typer(offers_app, name="offers")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mirakl-sync")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"mirakl-sync {_version()}")
        raise typer.Exit(0)


@app.callback()
def _global_options(
    config: ConfigOption = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_show_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    """Keep a Shopify store (with Supercycle items) and Mirakl marketplaces in step."""
    GLOBAL_CONFIG.clear()
    if config is not None:
        GLOBAL_CONFIG.append(config)


class Flow(StrEnum):
    ORDERS = "orders"
    STOCK = "stock"
    PRICES = "prices"
    OFFERS = "offers"
    SHIPMENTS = "shipments"
    REFUNDS = "refunds"
    SETTLEMENTS = "settlements"


#: The issue that brings each flow; until then ``sync <flow> --once`` says so and exits 3.
_PLANNED_FLOWS = {
    Flow.ORDERS: "orders issue (#3)",
    Flow.STOCK: "stock, prices and catalogue issue (#4)",
    Flow.PRICES: "stock, prices and catalogue issue (#4)",
    Flow.OFFERS: "stock, prices and catalogue issue (#4)",
    Flow.SHIPMENTS: "dispatch and refunds issue (#5)",
    Flow.REFUNDS: "dispatch and refunds issue (#5)",
    Flow.SETTLEMENTS: "finance issue",
}


class SandboxSeed(StrEnum):
    """What the sandbox starts from (``[sandbox] seed_name``)."""

    DEFAULT = "default"
    EXISTING_SHOP = "existing-shop"


SeedOption = Annotated[
    SandboxSeed | None,
    typer.Option(
        "--seed",
        case_sensitive=False,
        help="What the emulators start from: default (offers as the hub would make them) or "
        "existing-shop (a shop that already sells: offers made by hand, variants without "
        "barcodes, orders and refunds from before the hub). Default: [sandbox] seed_name.",
        show_default=False,
    ),
]


@app.command()
def demo(
    directory: Annotated[
        Path, typer.Option("--dir", help="Where the demo keeps its config and database.")
    ] = Path("demo"),
    port: Annotated[int, typer.Option(help="Port of the hub's status page.")] = 8080,
    sandbox_port: Annotated[int, typer.Option(help="Port of the emulated systems.")] = 9100,
    orders_per_hour: Annotated[
        float, typer.Option(help="Customer orders per hour across the marketplaces.")
    ] = 600.0,
    seed: SeedOption = None,
) -> None:
    """Start the sandbox (three marketplaces, Shopify, Supercycle), the hub and its status page."""
    from mirakl_sync.entrypoints.demo import run_demo
    from mirakl_sync.entrypoints.shutdown import run_until_stopped

    run_until_stopped(
        lambda: run_demo(
            directory,
            port=port,
            sandbox_port=sandbox_port,
            orders_per_hour=orders_per_hour,
            seed_name=(seed or SandboxSeed.DEFAULT).value,
        )
    )


@app.command()
def run(config: ConfigOption = None) -> None:
    """Run every flow on its schedule, the engine's worker and the status page, in one process."""
    from mirakl_sync.entrypoints.server import serve_hub
    from mirakl_sync.entrypoints.shutdown import run_until_stopped

    settings = cli_settings(config)
    run_until_stopped(lambda: serve_hub(settings), grace_seconds=_exit_bound(settings))


@app.command()
def worker(
    config: ConfigOption = None,
    executor_id: Annotated[
        str | None,
        typer.Option(
            help="Stable name of this worker; a restart with the same name resumes its work."
        ),
    ] = None,
) -> None:
    """Run an extra worker process (distributed mode: PostgreSQL shared by all processes)."""
    from mirakl_sync.workflows.runtime import run_worker

    settings = cli_settings(config)
    if not settings.is_postgres:
        fail(
            "extra workers need a shared PostgreSQL database_url; with SQLite, "
            "`mirakl-sync run` is the one process",
            2,
        )
    from mirakl_sync.entrypoints.shutdown import run_until_stopped

    run_until_stopped(
        lambda: run_worker(settings, executor_id=executor_id),
        grace_seconds=_exit_bound(settings),
    )


def _exit_bound(settings: Settings) -> float:
    """How long a signalled run/worker may take to stop: its drain, plus a margin."""
    from mirakl_sync.workflows.runtime import EXIT_MARGIN_SECONDS

    return settings.engine.shutdown_grace_seconds + EXIT_MARGIN_SECONDS


@app.command()
def sandbox(
    config: ConfigOption = None,
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    seed: SeedOption = None,
) -> None:
    """Serve the emulated Mirakl marketplaces, Shopify and Supercycle over HTTP."""
    from mirakl_sync.config import SandboxSettings
    from mirakl_sync.sandbox.server import serve_sandbox

    path = config_path(config)
    settings = cli_settings(config).sandbox if path.is_file() else SandboxSettings()
    if seed is not None:
        settings = settings.model_copy(update={"seed_name": seed.value})
    serve_sandbox(settings, host=host or settings.host, port=port or settings.port)


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None) -> None:
    """Create or migrate the hub's tables to the current version (safe to repeat)."""
    from mirakl_sync.adapters.store.migrations import current_revision, upgrade_database

    settings = cli_settings(config)
    try:
        upgrade_database(settings.database_url)
    except Exception as exc:  # the driver's error says what is wrong with the database
        fail(f"could not upgrade the database: {str(exc).splitlines()[0]}")
    typer.echo(f"database is at revision {current_revision(settings.database_url)}")


@app.command()
def doctor(config: ConfigOption = None) -> None:
    """Check the config, and that the database, Shopify, Supercycle and each marketplace answer."""
    from mirakl_sync.entrypoints.doctor import print_doctor_report

    ok = print_doctor_report(cli_settings(config))
    raise typer.Exit(0 if ok else 1)


class StatusFilter(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    IGNORED = "ignored"
    ALL = "all"


class OwnerFilter(StrEnum):
    OPS = "ops"
    FINANCE = "finance"
    ECOMMERCE = "ecommerce"


@exceptions_app.command("list")
def exceptions_list(
    config: ConfigOption = None,
    status: Annotated[
        StatusFilter, typer.Option(case_sensitive=False, help="Which exceptions.")
    ] = StatusFilter.OPEN,
    owner: Annotated[
        OwnerFilter | None, typer.Option(case_sensitive=False, help="Only this team's.")
    ] = None,
    marketplace: Annotated[str | None, typer.Option(help="Only this marketplace's.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List the records that could not go through, newest first."""
    from mirakl_sync.entrypoints.exceptions_view import print_exceptions

    settings = cli_settings(config)
    check_marketplace(settings, marketplace)
    print_exceptions(
        settings,
        status=None if status is StatusFilter.ALL else status.value,
        owner=owner.value if owner else None,
        marketplace=marketplace,
        limit=limit,
        as_json=as_json,
    )


@app.command()
def sync(
    flow: Annotated[Flow, typer.Argument(case_sensitive=False, help="The flow to run.")],
    once: Annotated[
        bool,
        typer.Option("--once", help="Run one full cycle, including the work it starts, then exit."),
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Run one flow. ``--once``: one full cycle, then exit (0 even if records became exceptions)."""
    settings = cli_settings(config)
    if not once:
        fail("only --once is supported here; `mirakl-sync run` runs every flow on its schedule", 2)
    from mirakl_sync.entrypoints.flows import available_flows

    runner = available_flows().get(flow.value)
    if runner is None:
        fail(
            f"flow '{flow.value}' is not in this version yet; "
            f"it comes with the {_PLANNED_FLOWS[flow]}"
        )
    runner(settings)


def main() -> None:
    try:
        app()
    except ConfigError as exc:
        typer.echo(f"mirakl-sync: {exc}", err=True)
        sys.exit(2)
    except MiraklSyncError as exc:
        typer.echo(f"mirakl-sync: {exc}", err=True)
        sys.exit(3)
