"""``mirakl-sync mappings`` (explicit offer SKU bindings) and ``mirakl-sync offers``
(what the hub last sent each offer)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from mirakl_sync.entrypoints.cli_options import (
    ConfigOption,
    check_marketplace,
    cli_settings,
    fail,
)

mappings_app = typer.Typer(
    help="Explicit offer SKU bindings, for marketplace SKUs that are not the shop's SKU.",
    no_args_is_help=True,
)
offers_app = typer.Typer(
    help="What the hub last sent each marketplace offer.", no_args_is_help=True
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

    settings = cli_settings(config)
    check_marketplace(settings, marketplace)
    if not force:
        from mirakl_sync.entrypoints.mapping_targets import check_target

        problem = check_target(settings, TargetSystem(system.value), target_sku)
        if problem is not None:
            advice = (
                "check the SKU, or pass --force to bind it anyway"
                if problem.code == 2
                else "pass --force to bind it without the check"
            )
            fail(f"{problem}; {advice}", problem.code)
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

    settings = cli_settings(config)
    check_marketplace(settings, marketplace)
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

    settings = cli_settings(config)
    check_marketplace(settings, marketplace)
    with open_store(settings) as store:
        removed = SqlOrderRepository(store.engine).remove_mapping(marketplace, offer_sku)
    if not removed:
        fail(f"no mapping of {offer_sku} on {marketplace}", 1)
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

    settings = cli_settings(config)
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
