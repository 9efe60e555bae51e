"""``mappings add``: check that the target SKU exists before binding an offer to it.

A binding to a SKU that exists nowhere makes every order of that offer wait on an
``sku_unmapped``-like exception later, far from the typo that caused it; the command
refuses it at once instead (``--force`` binds anyway, e.g. for a variant not created yet).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from mirakl_sync.bootstrap import bootstrap
from mirakl_sync.config import Settings
from mirakl_sync.domain.orders import TargetSystem
from mirakl_sync.errors import MiraklSyncError


@dataclass(frozen=True)
class TargetProblem:
    """Why a binding is refused, and the exit code: 2 wrong input, 3 could not check."""

    message: str
    code: int

    def __str__(self) -> str:
        return self.message


def check_target(settings: Settings, system: TargetSystem, target: str) -> TargetProblem | None:
    """``None`` when ``target`` exists in ``system``; else what is wrong."""
    try:
        found = asyncio.run(_exists(settings, system, target))
    except MiraklSyncError as exc:
        return TargetProblem(f"could not check {system.value} for {target!r}: {exc}", 3)
    if found is None:
        return TargetProblem(
            "there is no [supercycle] section in the config, so a Supercycle serial "
            f"cannot be checked ({target!r})",
            2,
        )
    if not found:
        where = (
            "Shopify variant with SKU"
            if system is TargetSystem.SHOPIFY
            else ("Supercycle item with serial")
        )
        return TargetProblem(f"no {where} {target!r}", 2)
    return None


async def _exists(settings: Settings, system: TargetSystem, target: str) -> bool | None:
    hub = bootstrap(settings)
    try:
        if system is TargetSystem.SHOPIFY:
            shopify = hub.shopify()
            try:
                return bool(await shopify.variants_by_sku(target))
            finally:
                await shopify.aclose()
        supercycle = hub.supercycle()
        if supercycle is None:
            return None
        try:
            async for item in supercycle.iter_items(serial=target):
                if item.serial == target:
                    return True
            return False
        finally:
            await supercycle.aclose()
    finally:
        hub.close()
