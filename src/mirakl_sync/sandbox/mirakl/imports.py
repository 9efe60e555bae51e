"""File imports: OF01 (offers), STO01 (stock), PRI01 (prices) and their tracking APIs.

Files are semicolon-separated CSV with a quoted header (shapes from the spec's form-field
descriptions). An import is accepted at once and processed by the clock: WAITING, then
RUNNING after half of ``import_processing_seconds``, then COMPLETE (or FAILED when the file
cannot be read at all). Rows in error go to the error report with a reason.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from starlette.responses import Response

from mirakl_sync.sandbox.mirakl.http import ApiError, Call, json_reply, seek_page
from mirakl_sync.sandbox.mirakl.offers import new_offer
from mirakl_sync.sandbox.mirakl.state import ImportJob, MarketState, iso

_REQUIRED = {
    "OF01": ("sku",),
    "STO01": ("offer-sku", "quantity"),
    "PRI01": ("offer-sku", "price"),
}


def _parse_csv(data: bytes) -> tuple[list[str], list[dict[str, str]]]:
    text = data.decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text), delimiter=";")
    rows = [r for r in reader if any(cell.strip() for cell in r)]
    if not rows:
        return [], []
    header = [h.strip() for h in rows[0]]
    return header, [dict(zip(header, r, strict=False)) for r in rows[1:]]


def _queue(call: Call, kind: str, import_id: int | str, mode: str) -> ImportJob:
    if not call.file:
        raise ApiError(
            400, "The import file is missing: send it as multipart/form-data field 'file'"
        )
    header, rows = _parse_csv(call.file)
    job = ImportJob(
        kind=kind, import_id=import_id, created=call.now, mode=mode, header=header, rows=rows
    )
    call.market.imports[str(import_id)] = job
    return job


def of01(call: Call) -> Response:
    mode = call.form.get("import_mode", "")
    if mode not in ("NORMAL", "REPLACE", "PARTIAL_UPDATE"):
        raise ApiError(400, "import_mode is required: NORMAL or REPLACE")
    job = _queue(call, "OF01", call.market.next_number() + 5000, mode)
    return json_reply({"import_id": job.import_id}, status=201)


def sto01(call: Call) -> Response:
    job = _queue(call, "STO01", call.market.uuid(), "NORMAL")
    return json_reply({"import_id": job.import_id}, status=201)


def pri01(call: Call) -> Response:
    job = _queue(call, "PRI01", call.market.uuid(), "NORMAL")
    return json_reply({"import_id": job.import_id}, status=201)


# ---- processing -----------------------------------------------------------------------------


def tick(market: MarketState, now: float, processing_seconds: float) -> None:
    for job in market.imports.values():
        if job.status == "WAITING" and now - job.created >= processing_seconds / 2:
            job.status = "RUNNING"
        if job.status == "RUNNING" and now - job.created >= processing_seconds:
            _process(market, job, job.created + processing_seconds)


def _number(row: dict[str, str], name: str, *, integer: bool = False) -> float | None:
    raw = (row.get(name) or "").strip()
    if not raw:
        return None
    value = float(int(raw)) if integer else float(raw)
    if value < 0:
        raise ValueError(f"{name} must not be negative")
    return value


def _process(market: MarketState, job: ImportJob, at: float) -> None:
    if job.kind == "OF24":
        _process_of24(market, job, at)
    else:
        missing = [c for c in _REQUIRED[job.kind] if c not in job.header]
        if missing:
            job.status = "FAILED"
            job.reason_status = f"Missing column(s) {', '.join(missing)} in the file header"
            return
        job.lines_read = len(job.rows)
        handler = {"OF01": _of01_row, "STO01": _sto01_row, "PRI01": _pri01_row}[job.kind]
        seen: set[str] = set()
        for number, row in enumerate(job.rows, start=2):
            try:
                handler(market, job, row, at, seen)
                job.lines_in_success += 1
            except (ValueError, KeyError) as exc:
                job.lines_in_error += 1
                job.errors.append((number, row, str(exc).strip("'\"")))
        if job.kind == "OF01" and job.mode == "REPLACE":
            for offer in market.offers.values():
                if offer.shop_sku not in seen and not offer.deleted:
                    offer.deleted = True
                    offer.last_updated = at
                    job.offer_deleted += 1
        job.offers_updated = len(seen)
        job.offers_in_error = len({r.get("offer-sku") for _, r, _ in job.errors})
    job.status = "COMPLETE"


def _of01_row(
    market: MarketState, job: ImportJob, row: dict[str, str], at: float, seen: set[str]
) -> None:
    sku = (row.get("sku") or "").strip()
    if not sku:
        raise ValueError("sku is empty")
    action = (row.get("update-delete") or "").strip().lower()
    seen.add(sku)
    offer = market.offers.get(sku)
    if action == "delete":
        if offer is None or offer.deleted:
            raise ValueError(f"No offer with sku {sku} to delete")
        offer.deleted = True
        offer.last_updated = at
        job.offer_deleted += 1
        return
    if action not in ("", "update"):
        raise ValueError(f"update-delete must be empty, update or delete, got {action}")
    price = _number(row, "price")
    quantity = _number(row, "quantity", integer=True)
    state = (row.get("state") or "").strip()
    if state and state not in {c.code for c in market.config.offer_conditions}:
        raise ValueError(f"Unknown offer state {state} (see OF61)")
    if offer is None or offer.deleted:
        if price is None or not (row.get("product-id") or "").strip():
            raise ValueError(
                "price, product-id and product-id-type are required to create an offer"
            )
        data: dict[str, Any] = {
            "shop_sku": sku,
            "product_id": row["product-id"].strip(),
            "product_id_type": (row.get("product-id-type") or "EAN").strip(),
            "price": price,
            "quantity": int(quantity or 0),
            "state_code": state or "11",
            "description": row.get("description") or "",
            "discount_price": _number(row, "discount-price"),
        }
        fresh = new_offer(market, at, data)
        if offer is not None:
            fresh.offer_id = offer.offer_id
        market.offers[sku] = fresh
        job.offer_inserted += 1
        return
    # NORMAL: columns absent from the file (or empty cells) leave the offer untouched.
    if price is not None:
        offer.price = price
    if quantity is not None:
        offer.quantity = int(quantity)
    if state:
        offer.state_code = state
    if "discount-price" in row:
        offer.discount_price = _number(row, "discount-price")
    if row.get("description"):
        offer.description = row["description"]
    offer.last_updated = at
    job.offer_updated += 1


def _sto01_row(
    market: MarketState, job: ImportJob, row: dict[str, str], at: float, seen: set[str]
) -> None:
    sku = (row.get("offer-sku") or "").strip()
    offer = market.offers.get(sku)
    if offer is None or offer.deleted:
        raise ValueError(f"Unknown offer-sku {sku}")
    quantity = _number(row, "quantity", integer=True)
    if (row.get("update-delete") or "").strip().lower() == "delete":
        quantity = 0
    if quantity is None:
        raise ValueError("quantity is empty")
    # Warehouse lines are summed into the offer quantity (the emulator keeps one global stock).
    offer.quantity = int(quantity) + (offer.quantity if sku in seen else 0)
    offer.last_updated = at
    seen.add(sku)


def _pri01_row(
    market: MarketState, job: ImportJob, row: dict[str, str], at: float, seen: set[str]
) -> None:
    sku = (row.get("offer-sku") or "").strip()
    offer = market.offers.get(sku)
    if offer is None or offer.deleted:
        raise ValueError(f"Unknown offer-sku {sku}")
    price = _number(row, "price")
    if price is None or price == 0:
        raise ValueError("price is required and must be positive")
    discount = _number(row, "discount-price")
    if discount is not None and discount >= price:
        raise ValueError("discount-price must be lower than price")
    # Delete and replace: a price not in the file is gone, so no discount unless given again.
    offer.price = price
    offer.discount_price = discount
    offer.last_updated = at
    seen.add(sku)


def _process_of24(market: MarketState, job: ImportJob, at: float) -> None:
    job.lines_read = len(job.offers_json or [])
    for number, item in enumerate(job.offers_json or [], start=1):
        try:
            sku = str(item["shop_sku"])
            action = str(item.get("update_delete") or "")
            existing = market.offers.get(sku)
            if action == "delete":
                if existing is None or existing.deleted:
                    raise ValueError(f"No offer with shop_sku {sku} to delete")
                existing.deleted = True
                existing.last_updated = at
                job.offer_deleted += 1
            else:
                if item.get("price") is None or not item.get("state_code"):
                    raise ValueError("price and state_code are required")
                if (existing is None or existing.deleted) and not item.get("product_id"):
                    raise ValueError("product_id and product_id_type are required at creation")
                data = dict(item)
                if existing is not None and not data.get("product_id"):
                    data["product_id"] = existing.product_id
                    data["product_id_type"] = existing.product_id_type
                data["discount_price"] = (item.get("discount") or {}).get("price")
                # Full replacement: fields not sent go back to their defaults (quantity 0).
                fresh = new_offer(market, at, data)
                if existing is not None:
                    fresh.offer_id = existing.offer_id
                    fresh.created = existing.created
                    fresh.product_title = existing.product_title
                    job.offer_updated += 1
                else:
                    job.offer_inserted += 1
                market.offers[sku] = fresh
            job.lines_in_success += 1
        except (ValueError, KeyError, TypeError) as exc:
            job.lines_in_error += 1
            job.errors.append((number, {"shop_sku": str(item.get("shop_sku", ""))}, str(exc)))


# ---- tracking APIs --------------------------------------------------------------------------


def _job(call: Call, key: str, kinds: tuple[str, ...]) -> ImportJob:
    job = call.market.imports.get(call.path[key])
    if job is None or job.kind not in kinds:
        raise ApiError(404, f"Import {call.path[key]} does not exist")
    return job


def _of_status(call: Call, job: ImportJob) -> dict[str, Any]:
    return {
        "import_id": job.import_id,
        "date_created": iso(job.created),
        "mode": job.mode,
        "status": job.status,
        "reason_status": job.reason_status,
        "type": "MIRAKL",
        "lines_read": job.lines_read,
        "lines_in_success": job.lines_in_success,
        "lines_in_error": job.lines_in_error,
        "lines_in_pending": 0,
        "offer_inserted": job.offer_inserted,
        "offer_updated": job.offer_updated,
        "offer_deleted": job.offer_deleted,
        "has_error_report": bool(job.errors),
    }


def of02(call: Call) -> Response:
    return json_reply(_of_status(call, _job(call, "import", ("OF01", "OF24"))))


def of04(call: Call) -> Response:
    def select(c: Call) -> list[ImportJob]:
        jobs = [j for j in c.market.imports.values() if j.kind in ("OF01", "OF24")]
        status = c.q("status")
        if status:
            jobs = [j for j in jobs if j.status == status]
        mode = c.q("mode")
        if mode:
            jobs = [j for j in jobs if j.mode == mode]
        return jobs

    page, tokens = seek_page(call, select)
    data = []
    for job in page:
        item = _of_status(call, job)
        del item["type"]
        item["origin"] = "API"
        item["shop_id"] = call.market.config.shop_id
        data.append(item)
    return json_reply({"data": data, **tokens})


def sto02(call: Call) -> Response:
    job = _job(call, "import_id", ("STO01",))
    return json_reply(
        {
            "import_id": job.import_id,
            "date_created": iso(job.created),
            "shop_id": call.market.config.shop_id,
            "status": job.status,
            "lines_in_success": job.lines_in_success,
            "lines_in_error": job.lines_in_error,
            "has_error_report": bool(job.errors),
        }
    )


def pri02(call: Call) -> Response:
    def select(c: Call) -> list[ImportJob]:
        jobs = [j for j in c.market.imports.values() if j.kind == "PRI01"]
        ids = set(c.q_list("import_id"))
        if ids:
            jobs = [j for j in jobs if j.import_id in ids]
        return jobs

    page, tokens = seek_page(call, select)
    data = [
        {
            "import_id": j.import_id,
            "date_created": iso(j.created),
            "shop_id": call.market.config.shop_id,
            "status": j.status,
            "reason_status": j.reason_status,
            "origin": "API",
            "lines_in_success": j.lines_in_success,
            "lines_in_error": j.lines_in_error,
            "offers_in_error": j.offers_in_error,
            "offers_updated": j.offers_updated,
            "has_error_report": bool(j.errors),
        }
        for j in page
    ]
    return json_reply({"data": data, **tokens})


def error_report(call: Call, key: str, kinds: tuple[str, ...]) -> Response:
    """OF03/STO03/PRI03: the rows in error, line number and reason first, then the row.

    STO03/PRI03 are documented as "first column: line number in error, second: reason";
    OF03 is only said to be "the uploaded format with the failed rows", so it uses the same
    layout [INFERRED].
    """
    job = _job(call, key, kinds)
    if not job.errors:
        raise ApiError(404, f"Import {job.import_id} has no error report")
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\n")
    header = job.header or ["shop_sku"]
    writer.writerow(["error-line", "error-message", *header])
    for number, row, message in job.errors:
        writer.writerow([number, message, *(row.get(h, "") for h in header)])
    media = "text/csv" if job.kind != "OF01" else "application/octet-stream"
    return Response(buf.getvalue(), media_type=media)
