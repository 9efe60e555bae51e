"""Offers: OF21 (list), OF24 (JSON import) and the OF52/OF53/OF54 asynchronous export."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from starlette.responses import Response

from mirakl_sync.sandbox.mirakl.http import ApiError, Call, json_reply, offset_page
from mirakl_sync.sandbox.mirakl.state import (
    ExportJob,
    ImportJob,
    MarketState,
    Offer,
    iso,
    parse_date,
)


def new_offer(market: MarketState, now: float, data: dict[str, Any]) -> Offer:
    """An offer from seed data (``shop_sku``, ``product_id``, ``price``, ``quantity`` ...)."""
    return Offer(
        offer_id=2000 + market.next_number(),
        shop_sku=str(data["shop_sku"]),
        product_id=str(data.get("product_id") or data["shop_sku"]),
        product_id_type=str(data.get("product_id_type") or "EAN"),
        price=float(data["price"]),
        quantity=int(data.get("quantity", 0)),
        state_code=str(data.get("state_code") or "11"),
        product_title=str(data.get("product_title") or data["shop_sku"]),
        category_code=str(data.get("category_code") or "outdoor"),
        category_label=str(data.get("category_label") or "Outdoor"),
        description=str(data.get("description") or ""),
        created=now,
        last_updated=now,
        discount_price=float(data["discount_price"]) if data.get("discount_price") else None,
        leadtime_to_ship=int(data.get("leadtime_to_ship") or market.config.leadtime_to_ship),
    )


def offer_json(market: MarketState, o: Offer) -> dict[str, Any]:
    cfg = market.config
    price: dict[str, Any] = {
        "price": o.total_price,
        "unit_origin_price": o.price,
        "volume_prices": [],
    }
    if o.discount_price is not None:
        price["unit_discount_price"] = o.discount_price
    out: dict[str, Any] = {
        "offer_id": o.offer_id,
        "shop_sku": o.shop_sku,
        "product_sku": o.product_id,
        "product_title": o.product_title,
        "product_references": [{"reference": o.product_id, "reference_type": o.product_id_type}],
        "category_code": o.category_code,
        "category_label": o.category_label,
        "description": o.description,
        "quantity": o.quantity,
        "price": o.total_price,
        "total_price": o.total_price,
        "all_prices": [price],
        "applicable_pricing": price,
        "state_code": o.state_code,
        "active": o.active,
        "channels": list(cfg.channels),
        "currency_iso_code": cfg.currency_iso_code,
        "fulfillment": {"center": {"code": "DEFAULT"}},
        "leadtime_to_ship": o.leadtime_to_ship,
        "logistic_class": {"code": o.logistic_class, "label": o.logistic_class},
        "min_order_quantity": o.min_order_quantity,
        "max_order_quantity": o.max_order_quantity,
        "package_quantity": o.package_quantity,
        "min_quantity_alert": o.min_quantity_alert,
        "min_shipping_price": cfg.shipping_price,
        "min_shipping_price_additional": 0.0,
        "min_shipping_type": cfg.shipping_type_code,
        "min_shipping_zone": cfg.shipping_zone_code,
        "shipping_deadline": iso(o.last_updated + o.leadtime_to_ship * 86400),
        "offer_additional_fields": [],
    }
    if not o.active:
        out["inactivity_reasons"] = ["ZERO_QUANTITY"]
    if o.discount_price is not None:
        out["discount"] = {"discount_price": o.discount_price, "origin_price": o.price}
    return out


def of21(call: Call) -> Response:
    market = call.market
    offers = [o for o in market.offers.values() if not o.deleted]
    states = set(call.q_list("offer_state_codes"))
    if states:
        offers = [o for o in offers if o.state_code in states]
    sku = call.q("sku")
    if sku:
        offers = [o for o in offers if o.shop_sku == sku]
    product = call.q("product_id")
    if product:
        offers = [o for o in offers if o.product_id == product]
    offers.sort(key=lambda o: o.offer_id)
    page, total = offset_page(call, offers)
    return json_reply({"offers": [offer_json(market, o) for o in page], "total_count": total})


def of24(call: Call) -> Response:
    """OF24: queue a JSON offer import; full replacement of each offer sent."""
    offers = call.json_object().get("offers")
    if not isinstance(offers, list) or not offers:
        raise ApiError(400, "offers is required and must be a non-empty list")
    market = call.market
    job = ImportJob(
        kind="OF24",
        import_id=market.next_number() + 5000,
        created=call.now,
        mode="NORMAL",
        header=[],
        rows=[],
        offers_json=[o if isinstance(o, dict) else {} for o in offers],
    )
    market.imports[str(job.import_id)] = job
    return json_reply({"import_id": job.import_id}, status=201)


# ---- OF52 / OF53 / OF54 ---------------------------------------------------------------------


def _export_row(market: MarketState, o: Offer) -> dict[str, Any]:
    price: dict[str, Any] = {
        "origin_price": o.price,
        "volume_prices": [{"quantity_threshold": 1, "unit_origin_price": o.price}],
    }
    if o.discount_price is not None:
        price["discount_price"] = o.discount_price
    return {
        "offer_id": o.offer_id,
        "shop_sku": o.shop_sku,
        "product_sku": o.product_id,
        "shop_id": market.config.shop_id,
        "shop_name": market.config.shop_name,
        "quantity": o.quantity,
        "active": o.active,
        "deleted": o.deleted,
        "state_code": o.state_code,
        "currency_iso_code": market.config.currency_iso_code,
        "description": o.description,
        "leadtime_to_ship": o.leadtime_to_ship,
        "logistic_class": {"code": o.logistic_class},
        "channels": list(market.config.channels),
        "prices": [price],
        "date_created": iso(o.created),
        "last_updated": iso(o.last_updated),
    }


def of52(call: Call) -> Response:
    body = call.json_object()
    export_type = body.get("export_type") or "text/csv"
    if export_type not in ("text/csv", "application/json"):
        raise ApiError(400, "export_type must be text/csv or application/json")
    last = body.get("last_request_date")
    try:
        since = parse_date(last) if last else None
    except (ValueError, AttributeError):
        raise ApiError(400, f"last_request_date is not an ISO-8601 date: {last!r}") from None
    items = int(body.get("items_per_chunk") or 1_000_000)
    if not 1 <= items <= 1_000_000:
        raise ApiError(400, "items_per_chunk must be at most 1000000")
    job = ExportJob(
        tracking_id=call.market.uuid(),
        created=call.now,
        export_type=export_type,
        last_request_date=since,
        include_inactive=bool(body.get("include_inactive_offers")),
        items_per_chunk=items,
    )
    call.market.exports[job.tracking_id] = job
    return json_reply({"tracking_id": job.tracking_id})


def complete_export(market: MarketState, job: ExportJob, now: float) -> None:
    offers = sorted(market.offers.values(), key=lambda o: o.offer_id)
    if job.last_request_date is None:
        chosen = [o for o in offers if not o.deleted and (o.active or job.include_inactive)]
    else:
        since = job.last_request_date
        chosen = [o for o in offers if o.last_updated >= since]
    rows = [_export_row(market, o) for o in chosen]
    size = job.items_per_chunk
    job.chunks = [rows[i : i + size] for i in range(0, len(rows), size)] or [[]]
    job.status = "COMPLETED"
    job.completed = now


def of53(call: Call) -> Response:
    job = call.market.exports.get(call.path["tracking_id"])
    if job is None:
        raise ApiError(404, f"Export {call.path['tracking_id']} does not exist")
    out: dict[str, Any] = {"status": job.status, "last_updated": iso(job.completed or job.created)}
    if job.status == "COMPLETED":
        base = f"{call.base_url.rstrip('/')}/{call.market.config.code}/files/offers-export"
        out["urls"] = [f"{base}/{job.tracking_id}/{i}" for i in range(len(job.chunks))]
    return json_reply(out)


_CSV_COLUMNS = (
    ("offer-id", "offer_id"),
    ("product-sku", "product_sku"),
    ("shop-sku", "shop_sku"),
    ("shop-id", "shop_id"),
    ("shop-name", "shop_name"),
    ("quantity", "quantity"),
    ("active", "active"),
    ("deleted", "deleted"),
    ("state-code", "state_code"),
    ("currency-iso-code", "currency_iso_code"),
    ("leadtime-to-ship", "leadtime_to_ship"),
    ("date-created", "date_created"),
    ("last-updated", "last_updated"),
)


def of54(market: MarketState, tracking_id: str, chunk: int) -> Response:
    """OF54: a chunk of a completed export (no API key: the URL itself is the credential)."""
    job = market.exports.get(tracking_id)
    if job is None or job.status != "COMPLETED" or not 0 <= chunk < len(job.chunks):
        raise ApiError(404, "No such export file")
    rows = job.chunks[chunk]
    if job.export_type == "application/json":
        return Response(json.dumps(rows), media_type="application/json")
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow([c for c, _ in _CSV_COLUMNS] + ["origin-price", "price"])
    for r in rows:
        values = [str(r[f]).lower() if isinstance(r[f], bool) else r[f] for _, f in _CSV_COLUMNS]
        price = r["prices"][0]
        values += [price["origin_price"], price.get("discount_price", price["origin_price"])]
        writer.writerow(values)
    return Response(buf.getvalue(), media_type="text/csv")
