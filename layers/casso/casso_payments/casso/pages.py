"""A page of Casso's transactions API, checked before anyone follows it.

`totalPages` says when paging ends and `records` what a page holds: a page without an
integer `totalPages` (missing, null, text, a float, negative) or a `records` array can't be
followed, and ending the paging there would skip every later page while looking complete.
So it is a `MalformedPage` (the client's `PagingError`), never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class MalformedPage(ValueError):
    """A transactions page that can't be followed; the message says which field."""


@dataclass(frozen=True)
class Page:
    page: int
    total_pages: int
    total_records: int
    records: list[dict[str, Any]]


def _count(data: dict[str, Any], name: str, asked: int) -> int:
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        shown = "missing" if value is None else f"{type(value).__name__} {str(value)[:40]!r}"
        raise MalformedPage(
            f"transactions page {asked}: {name} is {shown}, expected a whole number: "
            "the page can't be followed, stopping"
        )
    return value


def read_page(data: Any, *, asked: int) -> Page:
    """The `data` of `GET /transactions?page=<asked>`, checked."""
    if not isinstance(data, dict):
        raise MalformedPage(
            f"transactions page {asked}: expected an object, got {type(data).__name__}: "
            "the page can't be followed, stopping"
        )
    records = data.get("records")
    if not isinstance(records, list):
        shown = "missing" if records is None else type(records).__name__
        raise MalformedPage(
            f"transactions page {asked}: records is {shown}, expected an array: "
            "the page can't be followed, stopping"
        )
    total_records = data.get("totalRecords", 0)
    return Page(
        page=_count(data, "page", asked) if "page" in data else asked,
        total_pages=_count(data, "totalPages", asked),
        total_records=total_records if type(total_records) is int else 0,
        records=records,
    )
