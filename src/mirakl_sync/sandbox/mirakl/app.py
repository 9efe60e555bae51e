"""The Mirakl seller API emulator: several marketplaces behind one ASGI app.

Routes are ``/{marketplace_code}/api/...`` (each marketplace is its own Mirakl instance).
Each request is authenticated with the raw ``Authorization`` key (no ``Bearer``), checked
against the marketplace's ``shop_id``, rate-limited by :data:`limits.CALL_FREQUENCY_MAXIMA`,
and handled under one lock after the clock's rules are applied.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mirakl_sync.sandbox.faults import FaultInjection, SlidingWindowLimiter
from mirakl_sync.sandbox.mirakl import (
    accounting,
    imports,
    offers,
    order_list,
    orders,
    references,
    refunds,
    shipping,
)
from mirakl_sync.sandbox.mirakl.http import ApiError, Call, Settings
from mirakl_sync.sandbox.mirakl.limits import CALL_FREQUENCY_MAXIMA
from mirakl_sync.sandbox.mirakl.marketplace import EmulatedMarketplace
from mirakl_sync.sandbox.mirakl.state import MarketState
from mirakl_sync.sandbox.mirakl.traffic import TrafficGenerator, random_customer

Handler = Callable[[Call], Response]
T = TypeVar("T")


@dataclass(frozen=True)
class CallRecord:
    """One call answered by the emulator (see :attr:`MiraklEmulator.request_log`)."""

    at: float
    market: str
    op_id: str
    status: int
    path: dict[str, str]
    #: The Call Frequency entry it counted against (``budget_key``; None: none, such as
    #: OR11 by ``order_ids``, which is not a pull).
    budget: str | None = None


@dataclass(frozen=True)
class Endpoint:
    op_id: str
    method: str
    pattern: re.Pattern[str]
    handler: Handler


def _endpoints() -> list[Endpoint]:
    table: list[tuple[str, str, str, Handler]] = [
        ("OR11", "GET", "/api/orders", order_list.or11),
        ("OR28", "PUT", "/api/orders/refund", refunds.or28),
        ("OR30", "PUT", "/api/orders/cancel", refunds.or30),
        ("OR21", "PUT", "/api/orders/{order_id}/accept", orders.or21),
        ("OR23", "PUT", "/api/orders/{order_id}/tracking", shipping.or23),
        ("OR24", "PUT", "/api/orders/{order_id}/ship", shipping.or24),
        ("OR29", "PUT", "/api/orders/{order_id}/cancel", refunds.or29),
        ("ST01", "POST", "/api/shipments", shipping.st01),
        ("ST11", "GET", "/api/shipments", shipping.st11),
        ("ST23", "POST", "/api/shipments/tracking", shipping.st23),
        ("ST24", "PUT", "/api/shipments/ship", shipping.st24),
        ("OF01", "POST", "/api/offers/imports", imports.of01),
        ("OF04", "GET", "/api/offers/imports", imports.of04),
        ("OF02", "GET", "/api/offers/imports/{import}", imports.of02),
        (
            "OF03",
            "GET",
            "/api/offers/imports/{import}/error_report",
            lambda c: imports.error_report(c, "import", ("OF01", "OF24")),
        ),
        ("OF21", "GET", "/api/offers", offers.of21),
        ("OF24", "POST", "/api/offers", offers.of24),
        ("OF52", "POST", "/api/offers/export/async", offers.of52),
        ("OF53", "GET", "/api/offers/export/async/status/{tracking_id}", offers.of53),
        ("OF61", "GET", "/api/offers/states", references.of61),
        ("STO01", "POST", "/api/offers/stock/imports", imports.sto01),
        ("STO02", "GET", "/api/offers/stock/imports/{import_id}/status", imports.sto02),
        (
            "STO03",
            "GET",
            "/api/offers/stock/imports/{import_id}/error_report",
            lambda c: imports.error_report(c, "import_id", ("STO01",)),
        ),
        ("PRI01", "POST", "/api/offers/pricing/imports", imports.pri01),
        ("PRI02", "GET", "/api/offers/pricing/imports", imports.pri02),
        (
            "PRI03",
            "GET",
            "/api/offers/pricing/imports/{import_id}/error_report",
            lambda c: imports.error_report(c, "import_id", ("PRI01",)),
        ),
        ("SH21", "GET", "/api/shipping/carriers", references.sh21),
        ("RE01", "GET", "/api/reasons", references.re01),
        ("PC01", "GET", "/api/platform/configuration", references.pc01),
        ("V01", "GET", "/api/version", references.v01),
        ("A01", "GET", "/api/account", references.a01),
        ("IV01", "GET", "/api/invoices", accounting.iv01),
        ("TL02", "GET", "/api/sellerpayment/transactions_logs", accounting.tl02),
        ("SBC11", "GET", "/api/seller-billing-cycles", accounting.sbc11),
    ]
    out = []
    for op_id, method, path, handler in table:
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path)
        out.append(Endpoint(op_id, method, re.compile(f"^{regex}$"), handler))
    return out


def budget_key(op_id: str, call: Call) -> str | None:
    """Which :data:`CALL_FREQUENCY_MAXIMA` entry a call counts against (None: no budget)."""
    if op_id == "OF01":
        return "OF01:with_products" if call.form.get("with_products") == "true" else "OF01"
    if op_id == "OF52":
        body = call.body if isinstance(call.body, dict) else {}
        return "OF52:differential" if body.get("last_request_date") else "OF52:full"
    if op_id == "IV01" and call.q_int("offset", 0) > 0:
        return None  # "as many times as there are invoice pages returned"
    if op_id == "SBC11" and call.q("page_token"):
        return None
    if op_id == "OR11" and call.q("order_ids"):
        # Read of given orders, as an order page shows them: "Synchronous: at each order
        # page display", no numeric maximum (the hub's reading: see its budgets.py).
        return None
    return op_id if op_id in CALL_FREQUENCY_MAXIMA else None


class MiraklEmulator:
    """In-memory Mirakl seller API for one shop on each of several marketplaces.

    Time rules (seconds of ``clock``): WAITING_ACCEPTANCE orders are refused after
    ``acceptance_window_seconds``; accepted orders are debited (-> SHIPPING) after
    ``debit_delay_seconds``; imports and exports complete after ``import_processing_seconds``;
    refunds reach REFUNDED after ``refund_delay_seconds``; shipped orders are received and
    received orders closed after the optional delays; a billing cycle closes every
    ``billing_cycle_seconds`` when set (or on :meth:`close_billing_cycle`).
    """

    def __init__(
        self,
        marketplaces: Iterable[EmulatedMarketplace],
        *,
        clock: Callable[[], float] = time.time,
        acceptance_window_seconds: float = 600.0,
        call_frequency_scale: float = 1.0,
        import_processing_seconds: float = 2.0,
        debit_delay_seconds: float = 5.0,
        refund_delay_seconds: float = 10.0,
        receive_delay_seconds: float | None = None,
        close_delay_seconds: float | None = None,
        billing_cycle_seconds: float | None = None,
        seed: int = 42,
    ) -> None:
        self.clock = clock
        self.call_frequency_scale = call_frequency_scale
        self.settings = Settings(
            acceptance_window_seconds=acceptance_window_seconds,
            debit_delay_seconds=debit_delay_seconds,
            import_processing_seconds=import_processing_seconds,
            export_processing_seconds=import_processing_seconds,
            refund_delay_seconds=refund_delay_seconds,
            receive_delay_seconds=receive_delay_seconds,
            close_delay_seconds=close_delay_seconds,
            billing_cycle_seconds=billing_cycle_seconds,
        )
        self._lock = threading.RLock()
        self._rng = random.Random(seed)
        self._markets: dict[str, MarketState] = {}
        for i, mp in enumerate(marketplaces):
            if mp.code in self._markets:
                raise ValueError(f"marketplace code {mp.code!r} is used twice")
            self._markets[mp.code] = MarketState(
                config=mp, rng=random.Random(f"{seed}-{i}-{mp.code}"), last_cycle=clock()
            )
        self._limiter = SlidingWindowLimiter(clock)
        self._endpoints = _endpoints()
        #: Authenticated calls answered per marketplace and operation (429s included), for
        #: the sandbox's stats and tests that check nothing was sent twice.
        self.calls: dict[str, Counter[str]] = {code: Counter() for code in self._markets}
        #: Every authenticated call as it reached the emulator (behind any fault injection,
        #: so a call whose reply was lost shows its real status): when, marketplace,
        #: operation, status, path parameters. For soaks that read what landed (e.g. OR11
        #: answered per shop after a restart, OR21 per order); grows with the traffic.
        self.request_log: list[CallRecord] = []

    # ---- seeding and scripting --------------------------------------------------------------

    @property
    def marketplaces(self) -> list[EmulatedMarketplace]:
        return [m.config for m in self._markets.values()]

    def market(self, code: str) -> MarketState:
        """The state of one marketplace (for tests and the sandbox; hold no reference long)."""
        try:
            return self._markets[code]
        except KeyError:
            raise KeyError(f"no emulated marketplace {code!r}") from None

    def load_offers(self, code: str, items: Iterable[dict[str, Any]]) -> None:
        """Seed offers: dicts with ``shop_sku``, ``product_id`` (+ ``product_id_type``, EAN by
        default), ``price``, ``quantity``, ``state_code`` (OF61, "11" by default),
        optionally ``product_title``, ``category_code``, ``discount_price``."""
        with self._lock:
            market = self.market(code)
            now = self.clock()
            for item in items:
                offer = offers.new_offer(market, now, item)
                market.offers[offer.shop_sku] = offer

    def place_order(
        self,
        code: str,
        lines: list[tuple[str, int]],
        *,
        customer: dict[str, Any] | None = None,
        channel_code: str | None = None,
    ) -> str:
        """Place a customer order on existing offers with stock; return its ``order_id``.

        Raises :class:`orders.PlaceOrderError` for an unknown offer or too little stock.
        """
        with self._lock:
            self._tick_locked()
            market = self.market(code)
            order = orders.place_order(
                market,
                self.clock(),
                lines,
                customer or random_customer(self._rng),
                channel_code=channel_code,
            )
            return order.order_id

    def offers_in_stock(self) -> dict[str, list[str]]:
        with self._lock:
            out: dict[str, list[str]] = {}
            for code, market in self._markets.items():
                skus = [o.shop_sku for o in market.offers.values() if o.active]
                if skus:
                    out[code] = skus
            return out

    def close_billing_cycle(self, code: str) -> str | None:
        """Pay out what is payable on ``code`` now; return the cycle id (None if nothing)."""
        with self._lock:
            self._tick_locked()
            cycle = accounting.close_billing_cycle(self.market(code), self.clock())
            return cycle.id if cycle else None

    def tick(self) -> None:
        """Apply the time rules now (they also run before every request)."""
        with self._lock:
            self._tick_locked()

    def read(self, view: Callable[[], T]) -> T:
        """``view()`` under the emulator's lock, after the time rules (for a consistent
        snapshot read while requests are served, e.g. the sandbox's state page)."""
        with self._lock:
            self._tick_locked()
            return view()

    def _tick_locked(self) -> None:
        now = self.clock()
        for market in self._markets.values():
            orders.tick(market, now, self.settings)
            imports.tick(market, now, self.settings.import_processing_seconds)
            for job in market.exports.values():
                if (
                    job.status == "PENDING"
                    and now - job.created >= self.settings.export_processing_seconds
                ):
                    offers.complete_export(market, job, now)
            every = self.settings.billing_cycle_seconds
            if every is not None and now - market.last_cycle >= every:
                accounting.close_billing_cycle(market, now)

    def traffic_generator(self, *, orders_per_hour: float, rng_seed: int = 0) -> TrafficGenerator:
        return TrafficGenerator(self, orders_per_hour=orders_per_hour, rng_seed=rng_seed)

    # ---- HTTP -----------------------------------------------------------------------------------

    def asgi_app(
        self,
        *,
        error_rate: float = 0.0,
        latency_ms: float = 0.0,
        timeout_rate: float = 0.0,
        fault_seed: int | None = None,
    ) -> Any:
        """The ASGI app; with a fault rate or latency it is wrapped in :class:`FaultInjection`."""
        methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]
        app = Starlette(
            routes=[
                Route("/{market}/files/offers-export/{tracking_id}/{chunk:int}", self._of54),
                Route("/{market}/{rest:path}", self._dispatch, methods=methods),
            ]
        )
        if error_rate or latency_ms or timeout_rate:
            return FaultInjection(
                app,
                error_rate=error_rate,
                latency_ms=latency_ms,
                timeout_rate=timeout_rate,
                seed=fault_seed,
            )
        return app

    async def _of54(self, request: Request) -> Response:
        market = self._markets.get(request.path_params["market"])
        if market is None:
            return ApiError(404, "Unknown marketplace").response()
        with self._lock:
            self._tick_locked()
            try:
                return offers.of54(
                    market, request.path_params["tracking_id"], request.path_params["chunk"]
                )
            except ApiError as exc:
                return exc.response()

    async def _dispatch(self, request: Request) -> Response:
        try:
            return await self._handle(request)
        except ApiError as exc:
            return exc.response()

    async def _handle(self, request: Request) -> Response:
        market = self._markets.get(request.path_params["market"])
        if market is None:
            raise ApiError(404, f"No marketplace {request.path_params['market']!r} here")
        path = "/" + request.path_params["rest"]
        endpoint, params = self._route(request.method, path)
        cfg = market.config
        key = request.headers.get("authorization", "")
        # V01 is the one operation the spec declares without a security requirement: it
        # answers "is the platform up" to anyone, which is what health checks rely on.
        if endpoint.op_id != "V01" and key != cfg.api_key:
            raise ApiError(
                401, "Unauthorized: send the shop API key as the Authorization header, no prefix"
            )
        query: dict[str, list[str]] = {}
        for name, value in request.query_params.multi_items():
            query.setdefault(name, []).append(value)
        shop_id = query.get("shop_id", [None])[0]
        if shop_id is not None and shop_id != str(cfg.shop_id):
            # The General Notes do not say what a foreign shop_id gets; 403 with a message
            # is the emulator's choice (the key is valid, the shop is not reachable with it).
            raise ApiError(403, f"Shop {shop_id} is not accessible with this API key")
        call = Call(
            market=market,
            now=0.0,
            settings=self.settings,
            # Where this app is mounted (``/mirakl`` in the sandbox) belongs in the URLs it
            # hands out (OF53 download links); ``request.base_url`` leaves the mount out.
            base_url=f"{request.url.scheme}://{request.url.netloc}"
            f"{request.scope.get('root_path', '')}/",
            query=query,
            path=params,
        )
        await self._read_body(request, call)
        with self._lock:
            self._tick_locked()
            call.now = self.clock()
            self.calls[cfg.code][endpoint.op_id] += 1
            try:
                self._enforce_budget(market, endpoint.op_id, call)
                response = endpoint.handler(call)
            except ApiError as exc:
                self.request_log.append(
                    CallRecord(
                        call.now,
                        cfg.code,
                        endpoint.op_id,
                        exc.status,
                        params,
                        budget_key(endpoint.op_id, call),
                    )
                )
                raise
            self.request_log.append(
                CallRecord(
                    call.now,
                    cfg.code,
                    endpoint.op_id,
                    response.status_code,
                    params,
                    budget_key(endpoint.op_id, call),
                )
            )
            return response

    def _route(self, method: str, path: str) -> tuple[Endpoint, dict[str, str]]:
        allowed = False
        for endpoint in self._endpoints:
            match = endpoint.pattern.match(path)
            if match:
                if endpoint.method == method:
                    return endpoint, match.groupdict()
                allowed = True
        if allowed:
            raise ApiError(405, f"Method {method} is not allowed on {path}")
        raise ApiError(404, f"No API at {path}")

    async def _read_body(self, request: Request, call: Call) -> None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("multipart/form-data"):
            async with request.form() as form:
                for name, value in form.multi_items():
                    if isinstance(value, str):
                        call.form[name] = value
                    elif name == "file":
                        call.file = await value.read()
            return
        raw = await request.body()
        if raw:
            try:
                call.body = json.loads(raw)
            except ValueError:
                raise ApiError(400, "The request body is not valid JSON") from None

    def _enforce_budget(self, market: MarketState, op_id: str, call: Call) -> None:
        if self.call_frequency_scale <= 0:
            return
        key = budget_key(op_id, call)
        if key is None:
            return
        budgets = [
            (b.limit, b.period * self.call_frequency_scale) for b in CALL_FREQUENCY_MAXIMA[key]
        ]
        wait = self._limiter.check_all(f"{market.config.code}/{key}", budgets)
        if wait > 0:
            seconds = max(1, int(wait + 0.999))
            raise ApiError(
                429,
                f"Too many requests: {op_id} is limited to {CALL_FREQUENCY_MAXIMA[key][0]} "
                f"on this marketplace; retry in {seconds} s",
                headers={"Retry-After": str(seconds)},
            )
