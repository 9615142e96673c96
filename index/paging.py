"""Paging, facet and date-histogram shapes shared by every backend."""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import replace

from .models import DateBar, FacetCount, SearchRequest

FACETS = ("source", "category", "author", "year")


def within_pages(request: SearchRequest, total: int) -> SearchRequest:
    """The request, its page number brought back to the last page if it is past it."""
    last = max(1, -(-total // request.per_page))
    return request if request.page <= last else replace(request, page=last)


def facet_counts(pairs: Iterable[tuple[str, int]], facet: str = "") -> list[FacetCount]:
    """Facet values with their counts, most first (years newest first); empty values and
    zero counts left out."""
    found = [FacetCount(value, int(count)) for value, count in pairs if value and count > 0]
    if facet == "year":
        return sorted(found, key=lambda count: count.value, reverse=True)
    return sorted(found, key=lambda count: (-count.count, count.value))


def month_days(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def date_bars(months: Mapping[str, int], request: SearchRequest) -> list[DateBar]:
    """The date histogram from matching articles per month ("YYYY-MM" -> count): per month,
    empty ones included, when the months shown span three years or less (those of the date
    filter if set, else the matches' own), else per year."""
    present = sorted(month for month, count in months.items() if count > 0 and len(month) == 7)
    if not present:
        return []
    low, high = present[0], present[-1]
    if request.date_from:
        low = max(low, request.date_from[:7])
    if request.date_to:
        high = min(high, request.date_to[:7])
    if low > high:
        return []
    first_year, last_year = int(low[:4]), int(high[:4])
    if last_year - first_year < 3:
        bars = []
        year, month = first_year, int(low[5:])
        while (year, month) <= (last_year, int(high[5:])):
            label = f"{year}-{month:02}"
            end = f"{label}-{month_days(year, month)}"
            bars.append(DateBar(label, f"{label}-01", end, int(months.get(label, 0))))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return bars
    per_year = dict.fromkeys(range(first_year, last_year + 1), 0)
    for label, count in months.items():
        if low <= label <= high:
            per_year[int(label[:4])] += int(count)
    return [
        DateBar(str(year), f"{year}-01-01", f"{year}-12-31", count)
        for year, count in per_year.items()
    ]
