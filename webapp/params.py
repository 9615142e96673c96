"""Reading a search request from query-string parameters, for the pages and the API.

`q`, `page`, `per_page` (1-100), `sort` (relevance or date), `from` and `to` (ISO days,
inclusive), `source`, `category`, `author` and `typing=1` (the last word is still being typed). The
API answers bad values with a 400; the pages use `lenient=True` and fall back to defaults,
so a hand-edited URL still shows a page.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from index.models import SORTS, SearchRequest

MAX_PER_PAGE = 100
MAX_PAGE = 1000
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


class BadSearch(ValueError):
    """A search parameter with a value that can't be used."""


def _number(args: Mapping[str, str], name: str, default: int, high: int) -> int:
    raw = args.get(name, "")
    if raw == "":
        return default
    if not re.fullmatch(r"[0-9]{1,7}", raw):  # not str.isdigit(): it accepts "²"
        raise BadSearch(f"{name} must be a whole number")
    value = int(raw)
    if not 1 <= value <= high:
        raise BadSearch(f"{name} must be between 1 and {high}")
    return value


def _day(args: Mapping[str, str], name: str) -> str:
    raw = args.get(name, "").strip()
    if raw and not _DAY.fullmatch(raw):
        raise BadSearch(f"{name} must be a date like 2016-02-11")
    return raw


def search_request_from(
    args: Mapping[str, str], per_page: int, *, lenient: bool = False, group: bool = True
) -> SearchRequest:
    """Build a SearchRequest from query-string `args`; raise BadSearch unless `lenient`."""
    if lenient:
        try:
            return search_request_from(args, per_page, group=group)
        except BadSearch:
            kept = ("q", "source", "category", "author", "typing")
            clean = {k: v for k, v in args.items() if k in kept}
            return search_request_from(clean, per_page, group=group)
    sort = args.get("sort", "") or "relevance"
    if sort not in SORTS:
        raise BadSearch(f"sort must be one of {', '.join(SORTS)}")
    date_from, date_to = _day(args, "from"), _day(args, "to")
    if date_from and date_to and date_from > date_to:
        raise BadSearch("from must not be after to")
    return SearchRequest(
        query=args.get("q", ""),
        page=_number(args, "page", 1, MAX_PAGE),
        per_page=_number(args, "per_page", per_page, MAX_PER_PAGE),
        sort=sort,
        date_from=date_from,
        date_to=date_to,
        source=args.get("source", "").strip(),
        category=args.get("category", "").strip(),
        author=args.get("author", "").strip(),
        typing=args.get("typing", "") == "1",
        group=group,
    )
