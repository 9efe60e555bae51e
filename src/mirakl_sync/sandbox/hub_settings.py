"""The hub's settings pointed at the in-process sandbox (tests and benchmarks).

One builder, so "the hub on the sandbox" is written once: every system at the sandbox's
in-process base URL (``http://sandbox``, served through an ASGI transport), with the
sandbox's keys and shop ids. Callers add what their case needs on top: settings for every
marketplace (``every_market``), for one marketplace (``per_market``), for Supercycle, or
top-level sections (``extra``). The demo writes its own file (``entrypoints.demo``): it
points at a sandbox served over HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mirakl_sync.config import Settings, settings_from_mapping
from mirakl_sync.sandbox.server import MARKETPLACES, SHOP_DOMAIN, SHOPIFY_TOKEN, SUPERCYCLE_KEY

#: Where the in-process sandbox answers (any host: the ASGI transport ignores it).
SANDBOX_URL = "http://sandbox"


def sqlite_url(directory: Path) -> str:
    """A SQLite database file ``hub.db`` in ``directory``."""
    return f"sqlite:///{directory / 'hub.db'}"


def sandbox_hub_config(
    database_url: str,
    *,
    base_url: str = SANDBOX_URL,
    every_market: Mapping[str, Any] | None = None,
    per_market: Mapping[str, Mapping[str, Any]] | None = None,
    supercycle: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
    sandbox_rules: bool = False,
) -> dict[str, Any]:
    """The configuration (as a config file's mapping) of a hub on the sandbox at
    ``base_url`` (default: in process) and ``database_url``.

    ``every_market`` is added to each marketplace's section, then ``per_market[code]``
    to that marketplace's; ``supercycle`` to the Supercycle section; ``extra`` adds or
    replaces top-level sections (``engine``, ``safety_net``...). ``sandbox_rules``: each
    marketplace's ``partial_acceptance`` as its emulator applies it.
    """
    every = dict(every_market or {})
    per = per_market or {}
    return {
        "database_url": database_url,
        "shopify": {
            "shop": SHOP_DOMAIN,
            "access_token": SHOPIFY_TOKEN,
            "base_url": base_url,
        },
        "supercycle": {
            "base_url": f"{base_url}/supercycle/api/v1",
            "api_key": SUPERCYCLE_KEY,
            **(supercycle or {}),
        },
        "marketplaces": [
            {
                "code": m.code,
                "base_url": f"{base_url}/mirakl/{m.code}",
                "api_key": m.api_key,
                "shop_id": m.shop_id,
                **({"partial_acceptance": m.partial_acceptance} if sandbox_rules else {}),
                **every,
                **per.get(m.code, {}),
            }
            for m in MARKETPLACES
        ],
        **(extra or {}),
    }


def sandbox_hub_settings(database_url: str, **options: Any) -> Settings:
    """:func:`sandbox_hub_config` as settings (no environment variables read)."""
    return settings_from_mapping(sandbox_hub_config(database_url, **options), env={})
