"""The shop order's payment: marked paid once the marketplace has debited the customer.

The order follow-up marks it when a pull sees the order debited (Mirakl SHIPPING or
later). A shop order the import makes only after that follow-up ran (the platform
accepted and debited on its own while Shopify was down) is marked by the import, and
each side looks after its own write (the import after linking the shop order, the
follow-up after moving the order to paid), so whichever comes second marks it.
"""

from __future__ import annotations

from mirakl_sync.domain.orders import DEBITED_STATES, HubStatus, StoredOrder
from mirakl_sync.services.ports import ShopOrders

#: Hub statuses reached only past the marketplace's debit.
PAID_STATUSES = frozenset({HubStatus.SHIPPING, HubStatus.CLOSED})


async def mark_paid_if_debited(shop: ShopOrders, stored: StoredOrder) -> bool:
    """Mark ``stored``'s shop order paid (and give it Mirakl's addresses) if the hub has
    already taken the order as paid; whether it did. Idempotent: Shopify's mark-paid
    looks first."""
    if (
        stored.shopify_order_id is None
        or stored.hub_status not in PAID_STATUSES
        or stored.order.state not in DEBITED_STATES
    ):
        return False
    await shop.update_addresses(stored.shopify_order_id, stored.order)
    await shop.mark_paid(stored.shopify_order_id)
    return True
