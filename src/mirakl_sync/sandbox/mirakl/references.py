"""Reference lists and account: SH21, RE01, OF61, PC01, V01, A01."""

from __future__ import annotations

from starlette.responses import Response

from mirakl_sync.sandbox.mirakl.http import Call, json_reply
from mirakl_sync.sandbox.mirakl.state import iso


def sh21(call: Call) -> Response:
    carriers = []
    for c in sorted(call.market.config.carriers, key=lambda c: c.label):
        item = {"code": c.code, "label": c.label}
        if c.tracking_url:
            item["tracking_url"] = c.tracking_url
        if c.standard_code:
            item["standard_code"] = c.standard_code
        carriers.append(item)
    return json_reply({"carriers": carriers})


def re01(call: Call) -> Response:
    reasons = sorted(call.market.config.reasons, key=lambda r: r.type)
    body = [
        {"code": r.code, "label": r.label, "type": r.type, "is_shop_right": r.is_shop_right}
        for r in reasons
    ]
    return json_reply({"reasons": body, "total_count": len(body)})


def of61(call: Call) -> Response:
    states = [{"code": c.code, "label": c.label} for c in call.market.config.offer_conditions]
    return json_reply({"offer_states": states, "total_count": len(states)})


def v01(call: Call) -> Response:
    # V01's body "is subject to change"; only the status code matters.
    return json_reply({"version": "3.0-emulator"})


def pc01(call: Call) -> Response:
    cfg = call.market.config
    before = cfg.addresses_before_acceptance
    return json_reply(
        {
            "platform_name": cfg.name,
            "tenant_name": cfg.code,
            "timezone": "Europe/London",
            "features": {
                "catalog": {
                    "allow_shop_contribution_to_all_channels": False,
                    "exclude_invalid_products": False,
                    "list_of_multiple_values_separator": "|",
                    "product_acceptance_by_channel": False,
                    "product_data_validation_by_channel": False,
                    "product_import_only_on_leaf": True,
                },
                "circular_economy_data_collection": False,
                "competitive_pricing_tool": False,
                "direct_payment_customer_store": {
                    "activated": False,
                    "refund_cancel_authorized": False,
                },
                "disable_seller_alternative_carrier": not cfg.allow_unregistered_carriers,
                "dropship": {"retail_pricing_enabled": False},
                "kyc_status_per_seller": False,
                "lead_time_to_ship_by_sellers_enabled": "YES",
                "multi_currency": False,
                "multi_payout_psp_per_seller": False,
                "no_reply_needed": False,
                "offer_prices_decimals": "2",
                "operator_csv_delimiter": "SEMICOLON",
                "order_conditions": {
                    "lead_time_to_ship": True,
                    "maximum_order_quantity": True,
                    "minimum_order_quantity": True,
                    "package_order_quantity": True,
                },
                "order_tax_mode": "TAX_INCLUDED",
                "order_workflows": {
                    "no_customer_payment_confirmation": False,
                    "order_acceptance": "AUTOMATIC"
                    if cfg.automatic_acceptance
                    else "NOT_AUTOMATIC",
                    "pause_debit_workflow": False,
                    "pay_on_due_date": False,
                    "pay_on_shipment": False,
                    "sellers_edit_shipping_origin": False,
                    "shipping_and_billing_details_before_acceptance": before,
                },
                "payment_confirmation": True,
                "pricing": {
                    "channel_pricing": "DISABLED",
                    "discount_period_required": False,
                    "discount_price_creation_in_the_past_blocked": False,
                    "scheduled_pricing": False,
                    "volume_discount": False,
                    "volume_pricing": False,
                },
                "product_data_validation_by_channel": False,
                "promotion": {
                    "cart_promotion_campaign": False,
                    "discount_campaign": False,
                    "seller_promotion": False,
                },
                "returns": {"marketplace": False},
                "shipment": {
                    "multi_part_item_shipment": False,
                    "multi_shipment": cfg.multi_shipment,
                },
                "shop_tax_options": {"tax_identification_number": {"mandatory": False}},
                "tax_collection": {
                    "activated": "NO",
                    "product_tax_code_mandatory": False,
                    "tax_collection_by_operator": False,
                },
                "tax_id_number": {"mandatory": False},
                "warehouses": {"geolocation": False, "restricted_countries": []},
            },
            "modules": {
                "mirakl_catalog_integrator": False,
                "mirakl_catalog_manager": False,
                "mirakl_catalog_transformer": False,
                "mirakl_platform_services": False,
                "offer_management": True,
                "order_management": True,
                "promotions": False,
                "quotes": False,
                "tax_manager": {
                    "activated": False,
                    "tax_provider": {"avalara": False, "vertex": False},
                },
            },
            "platform_configuration": {
                "customer_model": {"b2b": False, "b2c": True},
                "enhanced_seller_invoicing": {"enabled": False},
                "platform_model": {"drop_ship": False, "marketplace": True, "one_creditor": False},
            },
        }
    )


def a01(call: Call) -> Response:
    market = call.market
    cfg = market.config
    pending = round(sum(log.amount for log in market.logs if log.payment_state == "PENDING"), 2)
    payable = round(sum(log.amount for log in market.logs if log.payment_state == "PAYABLE"), 2)
    paid = round(sum(c.amount_to_seller for c in market.cycles), 2)
    return json_reply(
        {
            "shop_id": cfg.shop_id,
            "shop_name": cfg.shop_name,
            "shop_state": "OPEN",
            "currency_iso_code": cfg.currency_iso_code,
            "date_created": iso(0.0),
            "last_updated_date": iso(call.now),
            "is_professional": True,
            "premium": False,
            "free_shipping": False,
            "channels": list(cfg.channels),
            "domains": [],
            "shipping_types": [cfg.shipping_type_code],
            "shipping_zones": [cfg.shipping_zone_code],
            "shipping": {"lead_time_to_ship": cfg.leadtime_to_ship},
            "shop_additional_fields": [],
            "evaluations_count": 0,
            "offers_count": sum(1 for o in market.offers.values() if o.active),
            "orders_count": len(market.orders),
            "payment_method_mandatory": False,
            "billing_info": {"owner": cfg.shop_name},
            "pro_details": {"corporate_name": cfg.shop_name},
            "payment_details": {
                "paid_balance": paid,
                "payable_balance": payable,
                "pending_balance": pending,
            },
            "contact_informations": {
                "civility": "Mr",
                "lastname": "Operations",
                "email": "marketplaces@fjellrev.example",
                "street1": "1 Kirkstall Road",
                "city": "Leeds",
                "zip_code": "LS3 1AA",
                "country": "GBR",
            },
            "default_billing_information": {
                "id": f"billing-{cfg.shop_id}",
                "default_language": "en",
                "registration_address": {
                    "street_1": "1 Kirkstall Road",
                    "city": "Leeds",
                    "zip_code": "LS3 1AA",
                    "country_iso_code": "GBR",
                },
            },
        }
    )
