"""How big a DynamoDB item is, against the 400 KB limit every ledger item must fit."""

from __future__ import annotations

from typing import Any, Final

# DynamoDB's item limit, less room for what processing adds later (outcome, order code,
# replay count...), so an item that fits when written still fits when updated.
ITEM_LIMIT_BYTES: Final = 400 * 1024
ITEM_BUDGET_BYTES: Final = ITEM_LIMIT_BYTES - 8 * 1024


class ItemTooLarge(ValueError):
    """An item over ITEM_BUDGET_BYTES even with every optional attribute left out."""


def item_size(item: dict[str, Any]) -> int:
    """An upper bound of DynamoDB's size of an item (names + values, UTF-8). Raises
    UnicodeEncodeError (a ValueError) for text DynamoDB would refuse (lone surrogates)."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: dict[str, Any]) -> int:
    (kind, inner), *_ = value.items()
    if kind in ("S", "N"):
        return len(inner.encode())
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + _value_size(v) for k, v in inner.items())
    if kind == "L":
        return 3 + sum(1 + _value_size(v) for v in inner)
    if kind in ("SS", "NS"):
        return sum(len(v.encode()) for v in inner)
    return len(inner) if kind == "B" else 1
