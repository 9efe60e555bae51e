"""The emulator's records and the Supercycle rules that change them.

Rules (docs.supercycle.com, see the reference notes A3/A7):

- items exist only for variants of *imported* products;
- an item is bookable only when ``visibility == available`` and no reservation
  (rental period) or blocked date overlaps the dates asked for; condition and processing
  status never change availability;
- receiving a return line copies the line's condition onto the item and marks it
  ``unprocessed`` (Not ready); restocking marks it ``processed`` again;
- selling is ``visibility = sold``;
- every mutation bumps ``updated_at`` of what it touched.

Inferred, not documented (kept simple and said so): logistics buffers are not modelled
(a reservation is exactly ``rentalStart``..``rentalEnd`` by calendar day); a rental is
*active* (the item's ``activeRentalId``) from the day it starts, or as soon as it is
unfulfilled/fulfilled/unreceived, until it is received or cancelled; a return order goes
``requested`` -> ``in_progress`` (some lines in) -> ``received`` (all in) ->
``completed`` (all restocked).

The records are in :mod:`.records`; the rules are mixins over :mod:`.store`, one module per
concept (:mod:`.catalogue_rules`, :mod:`.availability_rules`, :mod:`.rental_rules`,
:mod:`.return_rules`), which ``SupercycleState`` assembles.
"""

from __future__ import annotations

from mirakl_sync.sandbox.supercycle.catalogue_rules import CatalogueRules
from mirakl_sync.sandbox.supercycle.rental_rules import RentalRules
from mirakl_sync.sandbox.supercycle.return_rules import ReturnRules


class SupercycleState(CatalogueRules, RentalRules, ReturnRules):
    """Everything one emulated Supercycle shop knows, and the rules that change it."""
