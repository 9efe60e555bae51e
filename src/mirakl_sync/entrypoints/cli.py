"""The ``mirakl-sync`` command line.

``--config PATH`` goes before the command (``mirakl-sync --config FILE doctor``, as in
git or kubectl) or after it; after wins. Else ``$MIRAKL_SYNC_CONFIG``, else
``./mirakl-sync.toml``. Choices (``--owner Ops``, ``--status ALL``) ignore case.
Commands import what they need when they run, so ``--help`` is instant and nothing is
built at import time. Exit codes: 0 done; 1 the command ran but found problems
(``doctor``); 2 configuration or usage error; 3 could not run.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from mirakl_sync.config import Settings, load_settings, resolve_config_path
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
mappings_app = typer.Typer(
    help="Explicit offer SKU bindings, for marketplace SKUs that are not the shop's SKU.",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")
app.add_typer(exceptions_app, name="exceptions")
app.add_typer(mappings_app, name="mappings")
offers_app = typer.Typer(
    help="What the hub last sent each marketplace offer.", no_args_is_help=True
)
app.add_typer(offers_app, name="offers")

# No envvar here: resolve_config_path reads $MIRAKL_SYNC_CONFIG after both --config
# places, so a --config before the command is not overridden by the environment.
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Config file (TOML); also accepted before the command. "
        "Default: $MIRAKL_SYNC_CONFIG, else ./mirakl-sync.toml",
        show_default=False,
    ),
]

#: ``--config`` given before the command (set by :func:`_global_options`).
_GLOBAL_CONFIG: list[Path] = []


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
    _GLOBAL_CONFIG.clear()
    if config is not None:
        _GLOBAL_CONFIG.append(config)


def _config_path(config: Path | None) -> Path:
    """The command's own ``--config``, else the one before the command, else the defaults."""
    return resolve_config_path(config or (_GLOBAL_CONFIG[0] if _GLOBAL_CONFIG else None))


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


def _fail(message: str, code: int = 3) -> NoReturn:
    typer.echo(f"mirakl-sync: {message}", err=True)
    raise typer.Exit(code)


def _settings(config: Path | None) -> Settings:
    path = _config_path(config)
    try:
        settings = load_settings(path)
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(problem, err=True)
        raise typer.Exit(2) from None
    from mirakl_sync.entrypoints.logs import configure_logging

    configure_logging(settings)
    return settings


def _check_marketplace(settings: Settings, code: str | None) -> None:
    """A mistyped ``--marketplace`` is a usage error (exit 2), never a silent empty answer."""
    if code is not None and code != "*":
        settings.marketplace(code)  # raises ConfigError naming the known codes


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

    settings = _settings(config)
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

    settings = _settings(config)
    if not settings.is_postgres:
        _fail(
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

    path = _config_path(config)
    settings = _settings(config).sandbox if path.is_file() else SandboxSettings()
    if seed is not None:
        settings = settings.model_copy(update={"seed_name": seed.value})
    serve_sandbox(settings, host=host or settings.host, port=port or settings.port)


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None) -> None:
    """Create or migrate the hub's tables to the current version (safe to repeat)."""
    from mirakl_sync.adapters.store.migrations import current_revision, upgrade_database

    settings = _settings(config)
    try:
        upgrade_database(settings.database_url)
    except Exception as exc:  # the driver's error says what is wrong with the database
        _fail(f"could not upgrade the database: {str(exc).splitlines()[0]}")
    typer.echo(f"database is at revision {current_revision(settings.database_url)}")


@app.command()
def doctor(config: ConfigOption = None) -> None:
    """Check the config, and that the database, Shopify, Supercycle and each marketplace answer."""
    from mirakl_sync.entrypoints.doctor import print_doctor_report

    ok = print_doctor_report(_settings(config))
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

    settings = _settings(config)
    _check_marketplace(settings, marketplace)
    print_exceptions(
        settings,
        status=None if status is StatusFilter.ALL else status.value,
        owner=owner.value if owner else None,
        marketplace=marketplace,
        limit=limit,
        as_json=as_json,
    )


class TargetOption(StrEnum):
    SHOPIFY = "shopify"
    SUPERCYCLE = "supercycle"


@mappings_app.command("add")
def mappings_add(
    offer_sku: Annotated[str, typer.Argument(help="The SKU of the offer on the marketplace.")],
    target_sku: Annotated[
        str, typer.Argument(help="The Shopify variant SKU, or the Supercycle item serial.")
    ],
    config: ConfigOption = None,
    marketplace: Annotated[
        str, typer.Option(help="Only on this marketplace (default: every marketplace).")
    ] = "*",
    system: Annotated[
        TargetOption, typer.Option(case_sensitive=False, help="What the target SKU is.")
    ] = TargetOption.SHOPIFY,
    note: Annotated[str | None, typer.Option(help="Why, for whoever reads it later.")] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Bind even though the target is not found in Shopify or Supercycle "
            "(e.g. a variant not created yet).",
        ),
    ] = False,
) -> None:
    """Bind a marketplace offer SKU to a Shopify variant or a Supercycle item (replaces any)."""
    from datetime import UTC, datetime

    from mirakl_sync.adapters.store.orders import SqlOrderRepository
    from mirakl_sync.bootstrap import open_store
    from mirakl_sync.domain.orders import TargetSystem

    settings = _settings(config)
    _check_marketplace(settings, marketplace)
    if not force:
        from mirakl_sync.entrypoints.mapping_targets import check_target

        problem = check_target(settings, TargetSystem(system.value), target_sku)
        if problem is not None:
            advice = (
                "check the SKU, or pass --force to bind it anyway"
                if problem.code == 2
                else "pass --force to bind it without the check"
            )
            _fail(f"{problem}; {advice}", problem.code)
    with open_store(settings) as store:
        SqlOrderRepository(store.engine).add_mapping(
            marketplace,
            offer_sku,
            TargetSystem(system.value),
            target_sku,
            now=datetime.now(UTC),
            note=note,
        )
    where = "every marketplace" if marketplace == "*" else marketplace
    typer.echo(f"{offer_sku} on {where} -> {system.value} {target_sku}")


@mappings_app.command("list")
def mappings_list(
    config: ConfigOption = None,
    marketplace: Annotated[str | None, typer.Option(help="Only those used on it.")] = None,
) -> None:
    """List the explicit offer SKU bindings."""
    from mirakl_sync.adapters.store.orders import SqlOrderRepository
    from mirakl_sync.bootstrap import open_store

    settings = _settings(config)
    _check_marketplace(settings, marketplace)
    with open_store(settings) as store:
        rows = SqlOrderRepository(store.engine).list_mappings(marketplace)
    if not rows:
        typer.echo("No explicit mappings: every offer SKU is looked up as it is.")
    for market, mapping in rows:
        typer.echo(f"{market}\t{mapping.offer_sku}\t{mapping.system.value}\t{mapping.target_sku}")


@mappings_app.command("remove")
def mappings_remove(
    offer_sku: Annotated[str, typer.Argument(help="The offer SKU whose binding goes.")],
    config: ConfigOption = None,
    marketplace: Annotated[str, typer.Option(help="The binding's marketplace.")] = "*",
) -> None:
    """Remove an explicit binding (the offer SKU is then looked up as it is)."""
    from mirakl_sync.adapters.store.orders import SqlOrderRepository
    from mirakl_sync.bootstrap import open_store

    settings = _settings(config)
    _check_marketplace(settings, marketplace)
    with open_store(settings) as store:
        removed = SqlOrderRepository(store.engine).remove_mapping(marketplace, offer_sku)
    if not removed:
        _fail(f"no mapping of {offer_sku} on {marketplace}", 1)
    typer.echo(f"removed {offer_sku} on {marketplace}")


class OfferStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    SUPERSEDED = "superseded"
    ERROR = "error"
    SKIPPED = "skipped"


@offers_app.command("status")
def offers_status(
    marketplace: Annotated[str, typer.Argument(help="The marketplace code.")],
    config: ConfigOption = None,
    status: Annotated[
        OfferStatus | None,
        typer.Option(case_sensitive=False, help="Only offers in this status (default: counts)."),
    ] = None,
    sku: Annotated[str | None, typer.Option(help="Only this offer SKU.")] = None,
) -> None:
    """Per offer: desired and sent quantity, price, what the marketplace showed, and status.

    Statuses: pending (waits for the next push), sent, superseded (changed again before
    it went), error (the marketplace refused the line), skipped (not listed, and why).
    """
    from mirakl_sync.adapters.store.offers import SqlOfferStates
    from mirakl_sync.bootstrap import open_store

    settings = _settings(config)
    settings.marketplace(marketplace)
    with open_store(settings) as store:
        offers = SqlOfferStates(store.engine)
        if status is None and sku is None:
            counts = offers.status_counts(marketplace)
            for name in OfferStatus:
                typer.echo(f"{name.value}\t{counts.get(name.value, 0)}")
            return
        rows = offers.states(marketplace)
    typer.echo("sku\tstatus\tdesired\tsent\tmarketplace\tprice\tmessage")
    for shop_sku, row in sorted(rows.items()):
        if (status is not None and row["status"] != status.value) or (sku and shop_sku != sku):
            continue
        typer.echo(
            "\t".join(
                str(v if v is not None else "")
                for v in (
                    shop_sku,
                    row["status"],
                    row["desired_quantity"],
                    row["sent_quantity"],
                    row["marketplace_quantity"],
                    row["sent_price"] or row["desired_price"],
                    row["message"],
                )
            )
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
    settings = _settings(config)
    if not once:
        _fail("only --once is supported here; `mirakl-sync run` runs every flow on its schedule", 2)
    from mirakl_sync.workflows.flows import available_flows

    runner = available_flows().get(flow.value)
    if runner is None:
        _fail(
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
