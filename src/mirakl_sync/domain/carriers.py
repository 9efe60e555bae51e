"""Carriers: from the name a shop or 3PL writes to the code a Mirakl marketplace knows.

Shopify's tracking company ("Royal Mail 24", "DPD UK") is free text; Mirakl accepts
a ``carrier_code`` from its own SH21 list, or, where the operator allows it, an
unregistered carrier given by ``carrier_name`` (and ``carrier_url``). A name is
resolved through, in order: the marketplace's own overrides, the global ``[carriers]``
map, then the SH21 list itself (code or label), each time trying the name as written
and then the name its alias points to. Names are compared without regard to case,
spacing or punctuation ("royal-mail 24" = "Royal Mail 24").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

_NOT_ALNUM = re.compile(r"[\W_]+")


def normalise(name: str) -> str:
    """The comparison key of a carrier name: lower case, letters and digits only."""
    return _NOT_ALNUM.sub("", name.casefold())


class CarrierOutcome(StrEnum):
    #: A code on the marketplace's SH21 list: send ``carrier_code``.
    REGISTERED = "registered"
    #: No code, and the marketplace allows unregistered carriers: send ``carrier_name``.
    UNREGISTERED = "unregistered"
    #: No code, and the marketplace does not allow unregistered carriers: ops must map it.
    UNMAPPED = "unmapped"
    #: The map names a code that is not on the marketplace's SH21 list: ops must fix it.
    UNKNOWN_CODE = "unknown_code"


@dataclass(frozen=True)
class CarrierDecision:
    outcome: CarrierOutcome
    #: The name as the shop wrote it.
    name: str
    #: The Mirakl code (REGISTERED, and UNKNOWN_CODE: the code the map gave).
    code: str | None = None

    @property
    def sendable(self) -> bool:
        return self.outcome in (CarrierOutcome.REGISTERED, CarrierOutcome.UNREGISTERED)


@dataclass(frozen=True)
class CarrierMap:
    """The configured maps of one marketplace (global map, aliases, its overrides)."""

    global_map: Mapping[str, str] = field(default_factory=dict)
    aliases: Mapping[str, str] = field(default_factory=dict)
    overrides: Mapping[str, str] = field(default_factory=dict)

    def lookup_keys(self, name: str) -> list[str]:
        """The name, then what its alias points to (one hop and a second, no loops)."""
        aliases = {normalise(k): normalise(v) for k, v in self.aliases.items()}
        keys = [normalise(name)]
        for _ in range(2):
            target = aliases.get(keys[-1])
            if target is None or target in keys:
                break
            keys.append(target)
        return keys

    def mapped_code(self, name: str) -> str | None:
        """The code the configuration gives ``name``, if any (override first)."""
        overrides = {normalise(k): v for k, v in self.overrides.items()}
        global_map = {normalise(k): v for k, v in self.global_map.items()}
        for table in (overrides, global_map):
            for key in self.lookup_keys(name):
                if key in table:
                    return table[key]
        return None


def decide(
    name: str,
    carrier_map: CarrierMap,
    registered: Mapping[str, str] | None,
    *,
    allow_unregistered: bool,
) -> CarrierDecision:
    """Which carrier to send for ``name``.

    ``registered`` is the marketplace's SH21 list (code -> label); ``None`` when it
    could not be read, in which case a mapped code is trusted and Mirakl's own answer
    decides.
    """
    code = carrier_map.mapped_code(name)
    if code is not None:
        if registered is None or code in registered:
            return CarrierDecision(CarrierOutcome.REGISTERED, name, code)
        by_key = {normalise(c): c for c in registered}
        if normalise(code) in by_key:
            return CarrierDecision(CarrierOutcome.REGISTERED, name, by_key[normalise(code)])
        return CarrierDecision(CarrierOutcome.UNKNOWN_CODE, name, code)
    if registered:
        keys = carrier_map.lookup_keys(name)
        for candidate, label in registered.items():
            if normalise(candidate) in keys or normalise(label) in keys:
                return CarrierDecision(CarrierOutcome.REGISTERED, name, candidate)
    if allow_unregistered and name.strip():
        return CarrierDecision(CarrierOutcome.UNREGISTERED, name)
    return CarrierDecision(CarrierOutcome.UNMAPPED, name)
