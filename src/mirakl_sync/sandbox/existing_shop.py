"""The ``existing-shop`` seed: a brand that already sells on its marketplaces, the day it
installs the hub.

The default seed starts from the hub's own picture of a shop (offers it could have
made itself, a barcode on every variant, no history). This one starts from what a new
user really has, so a first day can be tried (``mirakl-sync sandbox --seed
existing-shop``, ``demo --seed existing-shop``) and tested (``tests/e2e/test_first_day.py``).
``installed_at`` is the moment the sandbox starts; every record below is older.

What it holds, and what the first day must do with each record:

* **Catalogue**: the default catalogue, but every third new-stock variant has **no
  barcode** (:func:`~mirakl_sync.sandbox.seed.without_barcodes`).
* **Offers** on each marketplace, put straight into the marketplace's offer state (listed
  by hand or by the previous connector, never imported by the hub): nine in ten
  new-stock variants with stock, barcode or not, and a few that have since sold out,
  all with **stale quantities and prices**; and one offer per available graded
  pre-owned Supercycle item (``shop_sku`` = serial). Offers of variants without a barcode
  carry the operator's product reference instead (``product_id_type`` ``SHOP_SKU``).
  Expected: ``sync stock`` sends a quantity for **every** offer (none skipped for want of
  a barcode); the sold-out ones go to 0; ``sync prices`` sends the shop's price.
* **Unlisted variants**: the tenth variant with stock has no offer yet. Expected: ``sync
  offers`` creates the ones with a barcode; one without a barcode cannot be created
  (no product-id) and becomes an exception for e-commerce, never only a status.
* **Marketplace orders that predate the hub** (``SeededOrder.purpose``):

  - ``waiting``: WAITING_ACCEPTANCE, placed before the install but inside the
    acceptance window (two per marketplace, one on a variant without a barcode).
    Expected: accepted once by ``sync orders``, one shop order each.
  - ``ship``: SHIPPING, its Shopify order created by the previous connector with
    ``sourceIdentifier`` = the Mirakl order id, fulfilled in Shopify (Royal Mail, with
    tracking) but never confirmed on Mirakl. Expected: ``sync shipments`` ships it once
    (tracking included); the shop order is not created a second time.
  - ``ship_unlinked``: the same, but the previous connector set no ``sourceIdentifier``
    (only a tag and a ``mirakl_order_id`` custom attribute, its own convention).
    Expected: shipped once, or an open exception naming the order: never silence.
  - ``unfulfilled``: SHIPPING, its Shopify order exists and is not fulfilled yet.
    Expected: nothing sent (the warehouse has not shipped it).
  - ``refund``: SHIPPED (debenhams) or RECEIVED (maisonhome, one of two lines), shipped on
    Mirakl by the previous connector; a Shopify refund (a return) made **after** the
    shipment and never sent to Mirakl. Expected: ``sync refunds`` sends OR28 once.
  - ``refund_sent``: SHIPPED, refunded in Shopify after shipment **and already refunded
    on Mirakl** by the previous connector. Expected: no second refund.
  - ``refund_closed``: CLOSED, refunded in Shopify after the operator closed it, not
    sent. The sandbox's operator takes no refunds on CLOSED lines (OR28 answers 400), so
    expected: an exception for finance with Mirakl's answer, sent at most once.

* **Web-store orders** (``web_orders``): Shopify orders of the brand's own store
  (``sourceName`` ``web``), one open, one fulfilled, one fulfilled and refunded.
  Expected: the hub leaves them alone (no marketplace call, no exception about them).
* **Supercycle**: the default items; one graded item listed on every marketplace has
  been sold in the shop since (visibility ``sold``) while its offers still say 1
  (``sold_items``). Expected: ``sync stock`` sends 0 for it.
* **Nothing cached**: the hub's database is the user's, and cold; the sandbox holds no
  state of the hub (no SH21/RE01 answer, no binding, no watermark).

Generation is deterministic for a given ``[sandbox] seed``; :meth:`ExistingShop.to_json`
is what ``GET /sandbox/seed`` answers, so a test names what it expects.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from mirakl_sync.sandbox.mirakl import MiraklEmulator
from mirakl_sync.sandbox.mirakl import history as mirakl_history
from mirakl_sync.sandbox.mirakl import orders as mirakl_orders
from mirakl_sync.sandbox.mirakl.state import Order
from mirakl_sync.sandbox.mirakl.traffic import random_customer
from mirakl_sync.sandbox.offers import CONDITION_TO_STATE
from mirakl_sync.sandbox.seed import SeedCatalogue, SeedProduct, SeedVariant
from mirakl_sync.sandbox.shopify import ShopifyEmulator
from mirakl_sync.sandbox.supercycle import SupercycleEmulator

SEED_NAME = "existing-shop"
#: ``sourceName`` of the shop orders the previous connector created (not the hub's).
PREVIOUS_CONNECTOR = "mirakl-connector"
#: RE01 REFUND reason the previous connector used ("Item returned by the customer").
PREVIOUS_REFUND_REASON = "15"
HOUR = 3600.0
DAY = 24 * HOUR


@dataclass(frozen=True)
class SeededOffer:
    marketplace: str
    shop_sku: str
    #: ``variant`` (new stock) or ``item`` (a graded Supercycle item, shop_sku = serial).
    kind: str
    has_barcode: bool
    quantity: int
    price: float


@dataclass(frozen=True)
class SeededOrder:
    marketplace: str
    order_id: str
    #: What the record is for (see the module docstring).
    purpose: str
    #: Mirakl order state at install time.
    state: str
    #: Offer SKUs of its lines, in line order.
    skus: tuple[str, ...]
    #: The Shopify order (GID) made for it before the hub, if any.
    shopify_order: str | None = None
    has_source_identifier: bool = False
    #: SKUs refunded in Shopify after shipment.
    refunded_skus: tuple[str, ...] = ()
    #: Whether the previous connector already sent that refund to Mirakl.
    refund_sent: bool = False


@dataclass
class ExistingShop:
    """What the seed put where: the manifest a test reads (``GET /sandbox/seed``)."""

    installed_at: float
    offers: list[SeededOffer] = field(default_factory=list)
    #: New-stock SKUs with stock and no offer anywhere: (sku, has a barcode).
    unlisted: list[tuple[str, bool]] = field(default_factory=list)
    orders: list[SeededOrder] = field(default_factory=list)
    #: Shopify GIDs of the web store's own orders.
    web_orders: list[str] = field(default_factory=list)
    #: Serials of items sold in the shop since their offers were listed.
    sold_items: list[str] = field(default_factory=list)

    def shopify_order_ids(self) -> set[int]:
        """Numeric ids of every Shopify order the seed made (history, not the hub's)."""
        gids = [o.shopify_order for o in self.orders if o.shopify_order] + self.web_orders
        return {int(gid.rsplit("/", 1)[-1]) for gid in gids if gid}

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": SEED_NAME,
            "installed_at": datetime.fromtimestamp(self.installed_at, UTC).isoformat(),
            "offers": [vars(o) for o in self.offers],
            "unlisted": [{"sku": sku, "has_barcode": b} for sku, b in self.unlisted],
            "orders": [{**vars(o), "skus": list(o.skus)} for o in self.orders],
            "web_orders": list(self.web_orders),
            "sold_items": list(self.sold_items),
        }


def _money(value: Decimal | float) -> float:
    return round(float(value), 2)


class _Seeder:
    def __init__(
        self,
        catalogue: SeedCatalogue,
        mirakl: MiraklEmulator,
        shopify: ShopifyEmulator,
        supercycle: SupercycleEmulator,
        *,
        now: float,
        acceptance_window_seconds: float,
        rng_seed: int,
    ) -> None:
        self.catalogue = catalogue
        self.mirakl = mirakl
        self.shopify = shopify
        self.supercycle = supercycle
        self.now = now
        self.window = acceptance_window_seconds
        self.rng = random.Random(f"existing-shop-{rng_seed}")
        self.shop = ExistingShop(installed_at=now)
        self.codes = [m.code for m in mirakl.marketplaces]
        self.by_sku = {v.sku: (p, v) for p, v in catalogue.variants()}

    # -- offers ------------------------------------------------------------------------

    def offers(self) -> tuple[list[str], list[str]]:
        """Stale offers on every marketplace; returns the listed SKUs with stock, with a
        barcode and without (the pools the orders draw from)."""
        rows: list[dict[str, Any]] = []
        with_barcode: list[str] = []
        without: list[str] = []
        sold_out = 0
        stocked = 0
        for product, variant in self.catalogue.variants():
            if product.channel != "new":
                continue
            quantity = sum(variant.inventory.values())
            if quantity <= 0:
                # A few offers listed when there was stock, never brought to 0 since.
                if sold_out < 4:
                    sold_out += 1
                    rows.append(self._variant_offer(product, variant, 3))
                continue
            stocked += 1
            if stocked % 10 == 0:
                self.shop.unlisted.append((variant.sku, variant.barcode is not None))
                continue
            rows.append(self._variant_offer(product, variant, quantity + 1 + stocked % 4))
            (with_barcode if variant.barcode else without).append(variant.sku)
        by_variant = {v.id: (p, v) for p, v in self.catalogue.variants()}
        for item in self.catalogue.items:
            product, variant = by_variant[item.variant_id]
            if product.channel != "resale" or item.visibility != "available":
                continue
            if item.condition_id not in CONDITION_TO_STATE or variant.barcode is None:
                continue
            rows.append(
                {
                    "shop_sku": item.serial,
                    "product_id": variant.barcode,
                    "product_id_type": "EAN",
                    "price": _money(item.price + 10),
                    "quantity": 1,
                    "state_code": CONDITION_TO_STATE[item.condition_id],
                    "product_title": f"{product.title} - {variant.size}",
                    "category_code": _category(product),
                }
            )
        for code in self.codes:
            self.mirakl.load_offers(code, rows)
            for row in rows:
                self.shop.offers.append(
                    SeededOffer(
                        marketplace=code,
                        shop_sku=row["shop_sku"],
                        kind="variant" if row["shop_sku"] in self.by_sku else "item",
                        has_barcode=row["product_id_type"] == "EAN",
                        quantity=int(row["quantity"]),
                        price=float(row["price"]),
                    )
                )
        return with_barcode, without

    def _variant_offer(
        self, product: SeedProduct, variant: SeedVariant, quantity: int
    ) -> dict[str, Any]:
        # Without a barcode the offer was listed against the operator's product by hand;
        # its product reference is then the seller's SKU (an operator-specific type).
        return {
            "shop_sku": variant.sku,
            "product_id": variant.barcode or variant.sku,
            "product_id_type": "EAN" if variant.barcode else "SHOP_SKU",
            "price": _money(variant.price + 5),
            "quantity": quantity,
            "state_code": "11",
            "product_title": f"{product.title} - {variant.size}",
            "category_code": _category(product),
        }

    def sold_item(self) -> None:
        """One listed item sold in the shop since (its offers still say 1)."""
        listed = [o.shop_sku for o in self.shop.offers if o.kind == "item"]
        if not listed:
            return
        serial = listed[len(listed) // 2]
        item = next(i for i in self.supercycle.state.items.values() if i.serial == serial)
        self.supercycle.state.update_item(item.id, {"visibility": "sold"})
        self.shop.sold_items.append(serial)

    # -- marketplace orders and their shop orders --------------------------------------

    def place(self, code: str, skus: list[str], created: float) -> Order:
        market = self.mirakl.market(code)
        for sku in skus:  # history is replayed on today's offers: make room for it
            market.offers[sku].quantity += 1
        return mirakl_orders.place_order(
            market, created, [(sku, 1) for sku in skus], random_customer(self.rng)
        )

    def shop_order(
        self,
        code: str | None,
        order: Order | None,
        skus: list[str],
        *,
        at: float,
        source_identifier: bool = True,
    ) -> str:
        """The Shopify order made at ``at``: by the previous connector for a marketplace
        order (``code``/``order``), else by the web store's checkout."""
        lines = []
        for sku in skus:
            _, variant = self.by_sku[sku]
            lines.append(
                {
                    "variant_id": variant.id,
                    "sku": sku,
                    "quantity": 1,
                    "price": variant.price,
                    "requiresShipping": True,
                }
            )
        customer = random_customer(self.rng)
        address = {
            "firstName": customer["firstname"],
            "lastName": customer["lastname"],
            "address1": customer["shipping_address"]["street_1"],
            "city": customer["shipping_address"]["city"],
            "zip": customer["shipping_address"]["zip_code"],
            "countryCode": "GB",
        }
        data: dict[str, Any] = {
            "email": f"{customer['firstname'].lower()}.{customer['lastname'].lower()}@example.com",
            "financialStatus": "PAID",
            "shippingAddress": address,
            "billingAddress": address,
            "taxesIncluded": True,
            "shippingLines": [{"title": "Standard", "priceSet": {"shopMoney": {"amount": "3.95"}}}],
        }
        if order is not None and code is not None:
            data["sourceName"] = PREVIOUS_CONNECTOR
            data["tags"] = ["mirakl", code]
            if source_identifier:
                data["sourceIdentifier"] = order.order_id
            else:
                data["customAttributes"] = [{"key": "mirakl_order_id", "value": order.order_id}]
        else:
            data["sourceName"] = "web"
        with self.shopify.as_of(at):
            rec, error = self.shopify.create_order(data, lines, "BYPASS")
        assert rec is not None, error
        return f"gid://shopify/Order/{rec.id}"

    def fulfil(self, gid: str, at: float) -> None:
        with self.shopify.as_of(at):
            number = f"RM{self.rng.randrange(10**8, 10**9)}GB"
            self.shopify.fulfil_order(gid, "Royal Mail", number)

    def refund(self, gid: str, skus: list[str], at: float) -> None:
        with self.shopify.as_of(at):
            self.shopify.refund_order(
                gid, dict.fromkeys(skus, 1), restock_type="RETURN", note="Returned"
            )

    def history(self, with_barcode: list[str], without: list[str]) -> None:
        now = self.now
        pool = iter(with_barcode)
        bare = iter(without)

        def take(n: int = 1) -> list[str]:
            return [next(pool) for _ in range(n)]

        for code in self.codes:
            # Placed before the install, still inside the acceptance window.
            for skus, age in ((take(), 0.3), ([next(bare)], 0.2)):
                order = self.place(code, skus, now - age * self.window)
                self.shop.orders.append(
                    SeededOrder(code, order.order_id, "waiting", order.state.value, tuple(skus))
                )
            # Accepted and debited by the previous connector, fulfilled, never shipped.
            skus = take(2) if code == "debenhams" else [*take(), next(bare)]
            self._shipping(code, skus, "ship", fulfilled_at=now - 3 * HOUR)
        self._shipping("sportshub", take(), "ship_unlinked", fulfilled_at=now - 2 * HOUR)
        self._shipping("maisonhome", take(), "unfulfilled", fulfilled_at=None)
        self._shipped("debenhams", take(), "refund", refund=1, received=False, closed=False)
        self._shipped("maisonhome", take(2), "refund", refund=1, received=True, closed=False)
        self._shipped("sportshub", take(), "refund_sent", refund=1, received=False, closed=False)
        self._shipped("debenhams", take(), "refund_closed", refund=1, received=True, closed=True)
        # The brand's own web store: the hub must leave these alone.
        for n, kind in enumerate(("open", "fulfilled", "refunded")):
            skus = take()
            gid = self.shop_order(None, None, skus, at=now - (10 - n) * HOUR)
            if kind != "open":
                self.fulfil(gid, now - (8 - n) * HOUR)
            if kind == "refunded":
                self.refund(gid, skus, now - HOUR)
            self.shop.web_orders.append(gid)

    def _shipping(
        self, code: str, skus: list[str], purpose: str, *, fulfilled_at: float | None
    ) -> None:
        created = self.now - 1.5 * DAY
        order = self.place(code, skus, created)
        market = self.mirakl.market(code)
        mirakl_history.replay_history(market, order, accepted_at=created + 600)
        linked = purpose != "ship_unlinked"
        gid = self.shop_order(code, order, skus, at=created + 700, source_identifier=linked)
        if fulfilled_at is not None:
            self.fulfil(gid, fulfilled_at)
        self.shop.orders.append(
            SeededOrder(code, order.order_id, purpose, order.state.value, tuple(skus), gid, linked)
        )

    def _shipped(
        self,
        code: str,
        skus: list[str],
        purpose: str,
        *,
        refund: int,
        received: bool,
        closed: bool,
    ) -> None:
        created = self.now - (20 if closed else 5) * DAY
        order = self.place(code, skus, created)
        market = self.mirakl.market(code)
        shipped = created + DAY
        mirakl_history.replay_history(
            market,
            order,
            accepted_at=created + 600,
            shipped_at=shipped,
            received_at=shipped + DAY if received else None,
            closed_at=self.now - 5 * DAY if closed else None,
            tracking={"carrier_code": "RM", "tracking_number": f"RM{order.commercial_id}GB"},
        )
        gid = self.shop_order(code, order, skus, at=created + 700)
        self.fulfil(gid, shipped - HOUR)
        refunded = skus[:refund]
        refund_at = self.now - (2 * HOUR if closed else 6 * HOUR)
        self.refund(gid, refunded, refund_at)
        sent = purpose == "refund_sent"
        if sent:
            for line in order.lines:
                if line.offer_sku in refunded:
                    mirakl_history.record_refund(
                        market,
                        order,
                        line,
                        at=refund_at + 600,
                        amount=line.price,
                        shipping_amount=0.0,
                        quantity=line.quantity,
                        reason_code=PREVIOUS_REFUND_REASON,
                    )
        self.shop.orders.append(
            SeededOrder(
                code,
                order.order_id,
                purpose,
                order.state.value,
                tuple(skus),
                gid,
                True,
                tuple(refunded),
                sent,
            )
        )

    def restore_stale_quantities(self) -> None:
        """Orders were replayed on today's offers; put back each offer's stale figure."""
        stale = {(o.marketplace, o.shop_sku): o.quantity for o in self.shop.offers}
        for (code, sku), quantity in stale.items():
            offer = self.mirakl.market(code).offers[sku]
            offer.quantity = quantity
            offer.last_updated = offer.created = self.now - 30 * DAY


def _category(product: SeedProduct) -> str:
    return product.product_type.lower().replace(" ", "-")


def seed_existing_shop(
    catalogue: SeedCatalogue,
    mirakl: MiraklEmulator,
    shopify: ShopifyEmulator,
    supercycle: SupercycleEmulator,
    *,
    now: float,
    acceptance_window_seconds: float,
    rng_seed: int = 42,
) -> ExistingShop:
    """Seed emulators that already hold ``catalogue`` (Shopify and Supercycle) with the
    offers and the history of a shop that sells already; return what went where.

    ``catalogue`` should come from :func:`~mirakl_sync.sandbox.seed.without_barcodes`;
    it needs enough new-stock variants for the orders (about 40 products do).
    """
    seeder = _Seeder(
        catalogue,
        mirakl,
        shopify,
        supercycle,
        now=now,
        acceptance_window_seconds=acceptance_window_seconds,
        rng_seed=rng_seed,
    )
    with_barcode, without = seeder.offers()
    seeder.history(with_barcode, without)
    seeder.restore_stale_quantities()
    seeder.sold_item()
    mirakl.tick()  # refunds made days ago have been paid since
    return seeder.shop
