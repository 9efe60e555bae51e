"""The sandbox server: three emulated marketplaces, Shopify and Supercycle behind one port.

Routes: ``/mirakl/<code>/api/...`` (Mirakl), ``/admin/api/<version>/graphql.json``
(Shopify), ``/supercycle/api/v1/...`` (Supercycle), and ``/`` (a page saying so).
Fault injection from ``[sandbox]`` wraps every system; a background thread plays the
customers who place marketplace orders.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Mount, Route

from mirakl_sync.config import SandboxSettings
from mirakl_sync.sandbox.existing_shop import SEED_NAME, ExistingShop, seed_existing_shop
from mirakl_sync.sandbox.faults import FaultInjection
from mirakl_sync.sandbox.fulfilment import ActorSettings, FulfilmentActor, start_fulfilment_actor
from mirakl_sync.sandbox.mirakl import EmulatedMarketplace, MiraklEmulator
from mirakl_sync.sandbox.offers import initial_offers
from mirakl_sync.sandbox.seed import SeedCatalogue, build_catalogue, without_barcodes
from mirakl_sync.sandbox.shopify import ShopifyEmulator, httpx_webhook_sender
from mirakl_sync.sandbox.shopify.schema import admin_schema
from mirakl_sync.sandbox.state_view import sandbox_state
from mirakl_sync.sandbox.supercycle import SupercycleEmulator

SHOP_DOMAIN = "fjellrev.myshopify.com"
#: GraphQL Admin restore rate (points a second) per Shopify plan, as Shopify publishes it.
SHOPIFY_RESTORE_RATES = {"standard": 100.0, "advanced": 200.0, "plus": 1000.0, "enterprise": 2000.0}
#: Bucket size as seconds of restore. Only the Standard plan's is on record (2000 points
#: at 100/s, read from throttleStatus in public code); the other plans' buckets are not
#: published, so the same 20 seconds is an assumption. The hub reads the real bucket
#: from every response, so nothing in it depends on this figure.
SHOPIFY_BUCKET_SECONDS = 20.0
SHOPIFY_TOKEN = "sandbox-shopify-token"
SHOPIFY_WEBHOOK_SECRET = "sandbox-webhook-secret"
SUPERCYCLE_KEY = "sandbox-supercycle-key"


@dataclass(frozen=True)
class SandboxMarketplace:
    code: str
    name: str
    shop_id: int
    multi_shipment: bool
    partial_acceptance: bool

    @property
    def api_key(self) -> str:
        return f"sandbox-{self.code}-key"


#: A department store, a sports chain and a home chain, each configured differently so
#: both code paths (multi-shipment on/off, partial acceptance on/off) are exercised.
MARKETPLACES: tuple[SandboxMarketplace, ...] = (
    SandboxMarketplace(
        "debenhams", "Debenhams", 2001, multi_shipment=True, partial_acceptance=True
    ),
    SandboxMarketplace(
        "sportshub", "Sports Hub", 3001, multi_shipment=False, partial_acceptance=True
    ),
    SandboxMarketplace(
        "maisonhome", "Maison & Home", 4001, multi_shipment=False, partial_acceptance=False
    ),
)


@dataclass
class Sandbox:
    """The emulators and the ASGI app serving them."""

    app: Starlette
    catalogue: SeedCatalogue
    mirakl: MiraklEmulator
    shopify: ShopifyEmulator
    supercycle: SupercycleEmulator
    settings: SandboxSettings
    #: What the ``existing-shop`` seed put where (None for the default seed).
    seeded: ExistingShop | None = None
    #: The fault injection in front of each system (Mirakl, Supercycle, Shopify).
    faults: dict[str, FaultInjection] = field(default_factory=dict)

    def set_faults(self, *, error_rate: float, timeout_rate: float, lost_reply_rate: float) -> None:
        """Change the fault rates of every system while serving (a soak's drain turns them
        off); requests already hanging keep hanging."""
        for faults in self.faults.values():
            faults.set_rates(
                error_rate=error_rate, timeout_rate=timeout_rate, lost_reply_rate=lost_reply_rate
            )


def build_sandbox(settings: SandboxSettings, *, clock: Any = time.time) -> Sandbox:
    existing_shop = settings.seed_name == SEED_NAME
    catalogue = build_catalogue(products=settings.products, seed=settings.seed)
    if existing_shop:
        catalogue = without_barcodes(catalogue)
    mirakl = MiraklEmulator(
        marketplaces=[
            EmulatedMarketplace(
                code=m.code,
                name=m.name,
                api_key=m.api_key,
                shop_id=m.shop_id,
                multi_shipment=m.multi_shipment,
                partial_acceptance=m.partial_acceptance,
            )
            for m in MARKETPLACES
        ],
        clock=clock,
        acceptance_window_seconds=settings.acceptance_window_seconds,
        call_frequency_scale=settings.call_frequency_scale,
        seed=settings.seed,
    )
    if not existing_shop:
        for market in MARKETPLACES:
            mirakl.load_offers(market.code, initial_offers(catalogue))
    restore_rate = SHOPIFY_RESTORE_RATES[settings.shopify_plan]
    shopify = ShopifyEmulator(
        shop=SHOP_DOMAIN,
        restore_rate=restore_rate,
        bucket_size=restore_rate * SHOPIFY_BUCKET_SECONDS,
        access_token=SHOPIFY_TOKEN,
        webhook_secret=SHOPIFY_WEBHOOK_SECRET,
        clock=clock,
        # Webhook subscriptions the hub creates are delivered for real, HMAC-signed.
        webhook_sender=httpx_webhook_sender(httpx.AsyncClient(timeout=5.0)),
    )
    shopify.load_catalogue(catalogue)
    # Parse the 3.7 MB Admin schema now, before any traffic, not on the first request.
    admin_schema()
    supercycle = SupercycleEmulator(
        api_key=SUPERCYCLE_KEY,
        clock=clock,
        rate_limit_per_minute=settings.supercycle_requests_per_minute or None,
    )
    supercycle.load_catalogue(catalogue)
    seeded = None
    if existing_shop:
        seeded = seed_existing_shop(
            catalogue,
            mirakl,
            shopify,
            supercycle,
            now=clock(),
            acceptance_window_seconds=settings.acceptance_window_seconds,
            rng_seed=settings.seed,
        )

    fault_injections: dict[str, FaultInjection] = {}

    def faults(app: Any, system: str) -> Any:
        fault_injections[system] = FaultInjection(
            app,
            error_rate=settings.error_rate,
            latency_ms=settings.latency_ms,
            timeout_rate=settings.timeout_rate,
            timeout_seconds=settings.timeout_seconds,
            lost_reply_rate=settings.lost_reply_rate,
            seed=settings.seed,
            clock=clock,
        )
        return fault_injections[system]

    async def index(request: Request) -> HTMLResponse:
        return HTMLResponse(_index_html(str(request.base_url).rstrip("/")))

    async def stats(request: Request) -> JSONResponse:
        """What the emulated Shopify charged, per operation (for benchmarks and curious
        operators): where the shop's query budget went."""
        return JSONResponse(
            {
                "shopify": {
                    "plan": settings.shopify_plan,
                    "restore_rate": shopify.restore_rate,
                    "bucket_size": shopify.bucket_size,
                    "throttled": shopify.throttled_count,
                    "points_by_operation": dict(shopify.points_by_operation),
                    "requests_by_operation": dict(shopify.requests_by_operation),
                }
            }
        )

    async def seed(request: Request) -> JSONResponse:
        """What the seed put where (``existing-shop``), so a test can name what it expects."""
        if seeded is None:
            return JSONResponse({"seed": settings.seed_name})
        return JSONResponse(seeded.to_json())

    async def state(request: Request) -> JSONResponse:
        """The emulators' state as tests check it, read without spending any API budget."""
        return JSONResponse(sandbox_state(mirakl, shopify))

    app = Starlette(
        routes=[
            Route("/", index),
            Route("/sandbox/stats", stats),
            Route("/sandbox/seed", seed),
            Route("/sandbox/state", state),
            Mount("/mirakl", app=faults(mirakl.asgi_app(), "mirakl")),
            Mount("/supercycle", app=faults(supercycle.asgi_app(), "supercycle")),
            Mount("/", app=faults(shopify.asgi_app(), "shopify")),
        ]
    )
    return Sandbox(app, catalogue, mirakl, shopify, supercycle, settings, seeded, fault_injections)


def start_traffic(
    sandbox: Sandbox,
    stop: threading.Event,
    *,
    actor: FulfilmentActor | None = None,
    actor_stop: threading.Event | None = None,
    actor_interval_seconds: float = 5.0,
) -> threading.Thread | None:
    """Generated customers place orders at ``orders_per_hour`` until ``stop`` is set, and
    the brand's warehouse fulfils, cancels and refunds some of the hub's shop orders, so
    every path (dispatch, unmapped carrier, cancellation, refund, return) shows up.

    A soak passes its own ``actor`` (to read what it did) and ``actor_stop`` (the
    warehouse keeps working through a drain after the customers stopped)."""
    if sandbox.settings.orders_per_hour <= 0:
        return None
    if actor is not None:
        start_fulfilment_actor(
            sandbox, actor_stop or stop, interval_seconds=actor_interval_seconds, actor=actor
        )
    elif sandbox.seeded is None:
        start_fulfilment_actor(sandbox, stop)
    else:
        # An existing shop's warehouse works in batches: every pass ships (and refunds)
        # several orders in the same second, as parcels leave together.
        start_fulfilment_actor(
            sandbox,
            stop,
            interval_seconds=10.0,
            settings=ActorSettings(
                delay_seconds=15.0, cancel_share=0.05, refund_share=0.3, seed=sandbox.settings.seed
            ),
        )
    traffic = sandbox.mirakl.traffic_generator(
        orders_per_hour=sandbox.settings.orders_per_hour, rng_seed=sandbox.settings.seed
    )
    thread = threading.Thread(
        target=traffic.run, kwargs={"stop": stop}, name="sandbox-traffic", daemon=True
    )
    thread.start()
    return thread


def serve_sandbox(settings: SandboxSettings, *, host: str, port: int) -> None:
    sandbox = build_sandbox(settings)
    stop = threading.Event()
    start_traffic(sandbox, stop)
    print(_banner(f"http://{host}:{port}"), flush=True)
    try:
        uvicorn.run(sandbox.app, host=host, port=port, log_level="warning")
    finally:
        stop.set()


def _banner(base: str) -> str:
    lines = [f"Sandbox on {base}"]
    for market in MARKETPLACES:
        lines.append(
            f"  Mirakl {market.name:<14} {base}/mirakl/{market.code}  key {market.api_key}"
        )
    lines.append(
        f"  Shopify                {base}/admin/api/2026-10/graphql.json  token {SHOPIFY_TOKEN}"
    )
    lines.append(f"  Supercycle             {base}/supercycle/api/v1  key {SUPERCYCLE_KEY}")
    return "\n".join(lines)


def _index_html(base: str) -> str:
    rows = "".join(
        f"<tr><td>Mirakl: {m.name}</td><td><code>{base}/mirakl/{m.code}</code></td>"
        f"<td><code>Authorization: {m.api_key}</code></td></tr>"
        for m in MARKETPLACES
    )
    return (
        "<!doctype html><meta charset=utf-8><title>mirakl-sync sandbox</title>"
        "<body style='font-family:system-ui;margin:2rem'><h1>mirakl-sync sandbox</h1>"
        "<p>Emulated systems for trying the hub without credentials.</p>"
        "<table cellpadding=6><tr><th>System</th><th>Base URL</th><th>Credentials</th></tr>"
        f"{rows}<tr><td>Shopify Admin GraphQL</td><td><code>{base}/admin/api/2026-10/graphql.json"
        f"</code></td><td><code>X-Shopify-Access-Token: {SHOPIFY_TOKEN}</code></td></tr>"
        f"<tr><td>Supercycle</td><td><code>{base}/supercycle/api/v1</code></td>"
        f"<td><code>Authorization: Bearer {SUPERCYCLE_KEY}</code></td></tr></table></body>"
    )
