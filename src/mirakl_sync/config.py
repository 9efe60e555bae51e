"""Settings: the one TOML file that tells the hub which systems to keep in step.

The file is found by ``--config PATH``, else ``$MIRAKL_SYNC_CONFIG``, else
``./mirakl-sync.toml``. ``${NAME}`` anywhere in a string value is replaced by the
environment variable ``NAME``. Every problem is reported on its own line as
``<file>: <key>: <what is wrong>``; unknown keys are problems too, so a typo never
passes silently. Secrets are held as ``SecretStr`` and never printed.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from mirakl_sync.errors import ConfigError

DEFAULT_CONFIG_PATH = Path("mirakl-sync.toml")
CONFIG_ENV_VAR = "MIRAKL_SYNC_CONFIG"
SHOPIFY_API_VERSION = "2026-10"

_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ShopifySettings(_Section):
    shop: Annotated[str, Field(min_length=1, description="The shop's myshopify.com domain")]
    access_token: SecretStr
    api_version: str = SHOPIFY_API_VERSION
    #: Replaces ``https://{shop}``; the path stays ``/admin/api/{api_version}/graphql.json``.
    base_url: str | None = None
    #: The app's client secret, used to verify webhook HMAC signatures.
    webhook_secret: SecretStr | None = None
    #: ``sourceName`` of the shop orders the hub creates (shows as their channel).
    source_name: str = "mirakl-sync"
    #: Minutes between full reconciles of Shopify stock (webhooks are never trusted alone).
    reconcile_minutes: Annotated[float, Field(gt=0)] = 15.0
    #: Shopify location names whose ``available`` quantities make up the stock pool
    #: (empty = every location).
    locations: list[str] = Field(default_factory=list)

    @property
    def graphql_url(self) -> str:
        base = (self.base_url or f"https://{self.shop}").rstrip("/")
        return f"{base}/admin/api/{self.api_version}/graphql.json"


class SupercycleSettings(_Section):
    base_url: str = "https://app.supercycle.com/api/v1"
    api_key: SecretStr
    #: Count an item only when its processing status is Ready (``processed``).
    require_ready: bool = False
    #: ``item``: one offer per item (``shop_sku`` = serial); ``variant_condition``: one
    #: offer per variant and condition.
    offer_mode: Literal["item", "variant_condition"] = "item"
    #: Supercycle condition title -> Mirakl offer state code (OF61).
    condition_states: dict[str, str] = Field(
        default_factory=lambda: {
            "Unused": "11",
            "Used": "3",
            "Damaged (Repairable)": "4",
        }
    )
    #: Seconds between polls of Supercycle's ``updated`` filter (120 requests/min budget).
    poll_seconds: Annotated[float, Field(gt=0)] = 5.0
    #: List only the items whose Shopify product has one of these tags (e.g. ``["resale"]``
    #: keeps rental stock off the marketplaces); empty lists every item.
    listed_tags: list[str] = Field(default_factory=list)
    #: Supercycle's documented per-key limit (requests a minute, all endpoints together);
    #: the hub paces its calls to it. Raise it only if Supercycle raised yours.
    requests_per_minute: Annotated[int, Field(ge=1)] = 120


class StockRule(_Section):
    """A rule on the quantity offered on one marketplace, for the offers it matches.

    A rule matches by ``sku``, ``tag`` or ``product_type`` (none of them = every offer);
    when several match, each limit applies (the strictest wins).
    """

    sku: str | None = None
    tag: str | None = None
    product_type: str | None = None
    #: Units kept back from this marketplace.
    safety_buffer: Annotated[int, Field(ge=0)] = 0
    #: Never list more than this.
    max_quantity: Annotated[int, Field(ge=0)] | None = None
    #: List at most this share of the pool (rounded down).
    percent_cap: Annotated[float, Field(gt=0, le=100)] | None = None
    #: List 0 when the pool is at or below this.
    zero_at_or_below: Annotated[int, Field(ge=0)] | None = None


class PriceRules(_Section):
    """How a marketplace's price is derived from the shop's price."""

    #: Percent added to the shop price (negative for a discount).
    markup_percent: Annotated[float, Field(gt=-100)] = 0.0
    #: Round up to end in this fraction, e.g. 0.99 gives 24.99; None keeps the pennies.
    round_to_ending: Annotated[float, Field(ge=0, lt=1)] | None = None
    #: Never offer below this price.
    minimum_price: Annotated[float, Field(ge=0)] | None = None


class MarketplaceSettings(_Section):
    code: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=40)]
    #: Shown on the status page; defaults to the code.
    name: str | None = None
    #: The operator's host, e.g. ``https://debenhams-prod.mirakl.net``; ``/api/...`` is appended.
    base_url: str
    api_key: SecretStr
    shop_id: int | None = None
    #: Multiplies every period of the spec's Call Frequency maxima. 1.0 obeys them exactly;
    #: a smaller value is only for a sandbox that allows it; 0 lifts the hub-side budget.
    call_budget_scale: Annotated[float, Field(ge=0)] = 1.0
    #: The longest a Mirakl call waits for its Call Frequency slot, in seconds. Past it the
    #: call is not made: a reference list (SH21 carriers, RE01 reasons) uses its last
    #: known value, anything else is recorded as an exception naming the operation and
    #: when its next slot opens. Once-a-day calls are only ever made when their slot is
    #: free (a crashed process can never push them a day further out).
    max_budget_wait_seconds: Annotated[float, Field(ge=0)] = 300.0
    #: Hours Mirakl gives the seller to accept an order (operator setting, not in the API).
    acceptance_window_hours: Annotated[float, Field(gt=0)] = 72.0
    #: How often to pull orders (OR11). The spec's maximum is once a minute; the default
    #: is twice that period, so a pull that fails (a 5xx, a timeout) is tried again on the
    #: next once-a-minute slot within its period, and a restarted hub whose first pull
    #: fails still reads its orders within one period (issue 10). Mirakl recommends 5 min.
    order_poll_seconds: Annotated[float, Field(gt=0)] = 120.0
    #: Each pull re-reads this far behind its watermark, so no late-indexed order is
    #: missed. Unset: 5 poll intervals, at least 60 s and at most 300 s (300 s at the
    #: default 120 s poll; a 1 s poll re-reads 60 s, not 5 minutes, every second).
    order_overlap_seconds: Annotated[float, Field(ge=0)] | None = None
    #: Hours between full sweeps of every open order (besides the watermark pulls).
    order_full_sweep_hours: Annotated[float, Field(gt=0)] = 24.0
    #: Mirakl ``shipping_type_code`` -> title of the Shopify shipping line.
    shipping_methods: dict[str, str] = Field(default_factory=dict)
    #: Shipping line title when the shipping type has no entry in ``shipping_methods``.
    default_shipping_method: str = "Standard"
    #: Whether the operator allows accepting some lines and refusing others (OR21);
    #: when false, an order with a line that cannot ship is refused whole.
    partial_acceptance: bool = True
    #: Off by default: when Shopify is down this close to the acceptance deadline, accept
    #: on the held stock anyway and create the shop order once Shopify is back.
    accept_when_shop_down: bool = False
    accept_when_shop_down_minutes: Annotated[float, Field(gt=0)] = 60.0

    #: Identifier type of the ``product-id`` sent with offers (operator-specific: EAN, UPC ...).
    product_id_type: str = "EAN"
    #: How often pending stock changes are pushed (STO01 allows one import a minute).
    stock_push_seconds: Annotated[float, Field(gt=0)] = 60.0
    #: How often pending price changes are pushed (PRI01).
    price_push_seconds: Annotated[float, Field(gt=0)] = 300.0
    #: Hours between full offer refreshes (OF01 NORMAL).
    offer_refresh_hours: Annotated[float, Field(gt=0)] = 24.0
    stock_rules: list[StockRule] = Field(default_factory=list)
    price_rules: PriceRules = Field(default_factory=PriceRules)
    #: Carrier name -> Mirakl carrier code for this marketplace only (overrides ``[carriers]``).
    carriers: dict[str, str] = Field(default_factory=dict)
    #: Send a carrier that maps to no code as an unregistered carrier (carrier_name and
    #: carrier_url); only where the operator allows it.
    allow_unregistered_carriers: bool = False
    #: Hub refund reason (``return``, ``damaged``, ``goodwill``, ``shopify_refund`` ...) ->
    #: RE01 reason code of type REFUND on this marketplace.
    refund_reasons: dict[str, str] = Field(default_factory=dict)
    #: RE01 REFUND code used when a reason has no entry in ``refund_reasons``.
    default_refund_reason: str | None = None
    #: RE01 CANCELATION code used for line cancellations (OR30).
    cancel_reason: str | None = None

    @property
    def display_name(self) -> str:
        return self.name or self.code

    @property
    def effective_order_overlap_seconds(self) -> float:
        """``order_overlap_seconds``, or when unset 5 polls within [60 s, 300 s]."""
        if self.order_overlap_seconds is not None:
            return self.order_overlap_seconds
        return min(300.0, max(60.0, 5 * self.order_poll_seconds))


class RefundSettings(_Section):
    """When a Supercycle return refunds the marketplace order."""

    #: ``received``: the return is received; ``inspection_passed``: the line is received
    #: in an acceptable condition; ``restocked``: the item is restocked.
    supercycle_trigger: Literal["received", "inspection_passed", "restocked"] = "inspection_passed"
    #: Conditions that pass inspection (titles as in Supercycle).
    acceptable_conditions: list[str] = Field(default_factory=lambda: ["Unused", "Used"])
    #: How long a Shopify refund of lines the marketplace still has to ship waits for
    #: their shipment, so Mirakl sees the parcel before the refund (a shop often fulfils
    #: and refunds in the same second). 0 sends such a refund at once.
    ship_first_seconds: Annotated[float, Field(ge=0)] = 300.0


class SafetyNetSettings(_Section):
    """The passes that poll for what the Shopify webhooks missed (``workflows.safety_net``).

    Webhooks carry fulfilments, refunds and cancellations at once; none arrive while the
    hub is down and Shopify does not guarantee them, so these passes read the changed shop
    orders. The refunds pass runs half a period after the shipments pass.
    """

    #: Seconds between two passes of each kind (rounded to what a cron can say).
    poll_seconds: Annotated[float, Field(ge=1)] = 300.0
    #: Run both passes as soon as the hub starts: what happened while it was down (its
    #: webhooks had nowhere to land) goes out at once, not at the next tick.
    pass_at_start: bool = True


class EngineSettings(_Section):
    #: Where the durable engine keeps its workflow state. Defaults to ``database_url``
    #: for PostgreSQL, and to a sibling file ``<name>-engine.db`` for SQLite.
    system_database_url: str | None = None
    #: Identifies this process to the engine; a restarted process with the same ID
    #: resumes its own unfinished work at once.
    executor_id: str | None = None
    worker_concurrency: Annotated[int, Field(ge=1)] = 8
    #: An executor whose heartbeat is older than this is presumed dead; the watchdog
    #: hands its unfinished workflows to the living.
    heartbeat_timeout_seconds: Annotated[float, Field(gt=0)] = 30.0
    #: On SIGTERM/Ctrl+C, how long the steps in flight may take to finish before the
    #: process exits anyway (their workflows then resume at the next start).
    shutdown_grace_seconds: Annotated[float, Field(gt=0, le=600)] = 10.0


class WebSettings(_Section):
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8080
    #: The address Shopify can reach this hub at (e.g. ``https://hub.brand.com``). With it
    #: and ``shopify.webhook_secret``, ``run`` subscribes the hub to the Shopify webhooks
    #: it uses; without it the hub relies on polling alone.
    public_url: str | None = None
    #: The largest Shopify webhook body the receiver reads, in bytes; a larger one is
    #: answered 413 and recorded (``webhook_body_too_large``). Shopify's payloads are a few
    #: KB; an order with hundreds of lines stays well under the default 1 MiB.
    webhook_max_body_bytes: Annotated[int, Field(ge=1024)] = 1024 * 1024


class LoggingSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["console", "json"] = "console"


class SandboxSettings(_Section):
    """Settings of the emulators, used by ``mirakl-sync sandbox`` and ``demo``."""

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 9100
    #: Seconds before the emulated marketplace auto-refuses an order nobody accepted.
    acceptance_window_seconds: Annotated[float, Field(gt=0)] = 600.0
    #: Customer orders per hour across all emulated marketplaces (0 = no traffic).
    orders_per_hour: Annotated[float, Field(ge=0)] = 120.0
    #: Fault injection: share of requests answered 500, added latency, share timing out.
    error_rate: Annotated[float, Field(ge=0, le=1)] = 0.0
    latency_ms: Annotated[float, Field(ge=0)] = 0.0
    timeout_rate: Annotated[float, Field(ge=0, le=1)] = 0.0
    #: Seconds a request that times out hangs before it is served (far beyond any client
    #: timeout by default).
    timeout_seconds: Annotated[float, Field(gt=0)] = 3600.0
    #: Share of writes (POST/PUT/PATCH/DELETE, Shopify GraphQL mutations) that land, and
    #: then answer 500 instead of their real reply (a reply lost on the way back).
    lost_reply_rate: Annotated[float, Field(ge=0, le=1)] = 0.0
    #: Multiplies the Call Frequency periods the emulated Mirakl enforces with 429s.
    call_frequency_scale: Annotated[float, Field(ge=0)] = 1.0
    #: Requests a minute per key the emulated Supercycle answers before a 429 (its
    #: documented limit); 0 lifts it (no 429s; TOML has no null, so 0 stands for None).
    supercycle_requests_per_minute: Annotated[int, Field(ge=0)] | None = 120
    #: The emulated shop's Shopify plan, which sets its GraphQL query budget: restore
    #: rate 100 (standard), 200 (advanced), 1000 (plus), 2000 (enterprise) points a
    #: second, as Shopify publishes them.
    shopify_plan: Literal["standard", "advanced", "plus", "enterprise"] = "standard"
    #: Number of products in the generated brand catalogue.
    products: Annotated[int, Field(ge=1)] = 300
    #: The random seed of the generated catalogue, traffic and faults.
    seed: int = 42
    #: What the emulated systems hold at start (``--seed`` of ``sandbox`` and ``demo``):
    #: ``default``, the brand's catalogue with the offers the hub would have made itself;
    #: ``existing-shop``, a shop that already sells (offers listed by hand or by a
    #: previous connector, variants without barcodes, orders, fulfilments and refunds
    #: that predate the hub). See ``mirakl_sync.sandbox.existing_shop``.
    seed_name: Literal["default", "existing-shop"] = "default"


class Settings(_Section):
    database_url: str = "sqlite:///./mirakl-sync.db"
    shopify: ShopifySettings
    supercycle: SupercycleSettings | None = None
    #: Shopify tracking company (or 3PL name) -> Mirakl carrier code.
    carriers: dict[str, str] = Field(default_factory=dict)
    #: Other spellings of a carrier name -> the name used in ``[carriers]``
    #: (e.g. "Royal Mail 24" = "Royal Mail"). Matching ignores case and spacing.
    carrier_aliases: dict[str, str] = Field(default_factory=dict)
    refunds: RefundSettings = Field(default_factory=RefundSettings)
    safety_net: SafetyNetSettings = Field(default_factory=SafetyNetSettings)
    marketplaces: list[MarketplaceSettings] = Field(default_factory=list)
    engine: EngineSettings = Field(default_factory=EngineSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    sandbox: SandboxSettings = Field(default_factory=SandboxSettings)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql")):
            raise ValueError(
                "must start with sqlite:/// (embedded) or postgresql+psycopg:// (production)"
            )
        return value

    @model_validator(mode="after")
    def _unique_marketplace_codes(self) -> Settings:
        seen: set[str] = set()
        for market in self.marketplaces:
            if market.code in seen:
                raise ValueError(f"marketplace code {market.code!r} appears twice")
            seen.add(market.code)
        return self

    def marketplace(self, code: str) -> MarketplaceSettings:
        for market in self.marketplaces:
            if market.code == code:
                return market
        known = ", ".join(m.code for m in self.marketplaces) or "none configured"
        raise ConfigError(f"unknown marketplace {code!r} (known: {known})")

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith("postgresql")


def resolve_config_path(explicit: Path | None, env: Mapping[str, str] | None = None) -> Path:
    """``--config`` wins, then ``$MIRAKL_SYNC_CONFIG``, then ``./mirakl-sync.toml``."""
    environ = os.environ if env is None else env
    if explicit is not None:
        return explicit
    if environ.get(CONFIG_ENV_VAR):
        return Path(environ[CONFIG_ENV_VAR])
    return DEFAULT_CONFIG_PATH


def load_settings(path: Path, env: Mapping[str, str] | None = None) -> Settings:
    """Read, interpolate and validate the config; ``ConfigError`` lists every problem."""
    environ = os.environ if env is None else env
    if not path.is_file():
        raise ConfigError(
            f"{path}: config file not found; pass --config PATH, set {CONFIG_ENV_VAR}, "
            "or copy mirakl-sync.example.toml to ./mirakl-sync.toml"
        )
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    return settings_from_mapping(raw, source=str(path), env=environ)


def settings_from_mapping(
    raw: Mapping[str, Any], *, source: str = "<config>", env: Mapping[str, str] | None = None
) -> Settings:
    environ = os.environ if env is None else env
    problems: list[str] = []
    interpolated = _interpolate(raw, environ, (), problems)
    try:
        settings = Settings.model_validate(interpolated)
    except ValidationError as exc:
        problems.extend(_describe(error) for error in exc.errors())
        raise ConfigError([f"{source}: {p}" for p in problems]) from None
    if problems:
        raise ConfigError([f"{source}: {p}" for p in problems])
    return settings


def _interpolate(
    value: Any, env: Mapping[str, str], path: tuple[str | int, ...], problems: list[str]
) -> Any:
    if isinstance(value, str):

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in env:
                problems.append(f"{_key(path)}: environment variable {name} is not set")
                return ""
            return env[name]

        return _ENV_REFERENCE.sub(substitute, value)
    if isinstance(value, Mapping):
        return {k: _interpolate(v, env, (*path, k), problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, env, (*path, i), problems) for i, v in enumerate(value)]
    return value


def _key(path: tuple[str | int, ...]) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


def _describe(error: Any) -> str:
    location = _key(tuple(error["loc"]))
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"{location}: unknown key (check its spelling and section)"
    if kind == "missing":
        return f"{location}: required key is missing"
    message = str(error["msg"]).removeprefix("Value error, ")
    # Never echo the offending value: it may be a secret.
    return f"{location}: {message}"
