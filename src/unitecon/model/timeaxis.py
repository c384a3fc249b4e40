"""The time axis: which period comes before which, which are full years, which overlay others.

Regular periods are listed in time order and do not overlap; overlay periods (a full-year estimate
that contains a reported half-year) come after them and are left out of totals over periods. Growth
compares a period with the one a year earlier (same length) or with the one just before it.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable

from .expr import FIRST, FIRST_YEAR, LAST_YEAR, LATEST
from .inputs import Period


def _year_earlier(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


class TimeAxis:
    """The periods of a model (or of several, for a peers workbook), left to right."""

    def __init__(self, periods: dict[str, Period]):
        self.periods = periods
        self.ids = list(periods)

    def regular(self, ids: Iterable[str]) -> list[str]:
        """``ids`` without overlay periods, in axis order."""
        wanted = set(ids)
        return [p for p in self.ids if p in wanted and not self.periods[p].overlay]

    def prior_year(self, pid: str, among: Iterable[str]) -> str | None:
        """The period of ``among`` of the same length as ``pid`` that starts one year earlier."""
        p = self.periods[pid]
        start = _year_earlier(p.start)
        found = [q for q in among if self.periods[q].start == start and self.periods[q].months == p.months]
        return found[0] if found else None

    def previous(self, pid: str, among: Iterable[str]) -> str | None:
        """The regular period of ``among`` that ends the day before regular period ``pid`` starts. An overlay has
        none: it is compared a year on year, not with the period just before."""
        if self.periods[pid].overlay:
            return None
        day_before = self.periods[pid].start - dt.timedelta(days=1)
        found = [q for q in self.regular(among) if self.periods[q].end == day_before]
        return found[0] if found else None

    def full_years(self, among: Iterable[str]) -> list[str]:
        """The regular 12-month periods of ``among``, in axis order."""
        return [p for p in self.regular(among) if self.periods[p].months == 12]

    def follow_on(self, first: str, last: str) -> bool:
        """True when the axis periods from ``first`` to ``last`` are regular and each starts the day after the
        one before ends (so their months add up to the time between them)."""
        i, j = self.ids.index(first), self.ids.index(last)
        run = self.ids[i:j + 1]
        if any(self.periods[p].overlay for p in run):
            return False
        return all(self.periods[b].start - self.periods[a].end == dt.timedelta(days=1)
                   for a, b in itertools.pairwise(run))

    def select(self, selector: str, among: list[str], years: list[str] | None = None) -> str | None:
        """The period a selector names among a series' periods ``among`` (``years``: the row's full years)."""
        if selector == LATEST:
            return among[-1] if among else None
        if selector == FIRST:
            return among[0] if among else None
        if selector in (FIRST_YEAR, LAST_YEAR):
            years = self.full_years(among) if years is None else years
            if len(years) < 2:
                return None
            return years[0] if selector == FIRST_YEAR else years[-1]
        return selector if selector in among else None

    def between(self, first: str, last: str, among: list[str]) -> list[str]:
        """The periods of ``among`` from ``first`` to ``last`` on the axis, inclusive."""
        i, j = self.ids.index(first), self.ids.index(last)
        return [p for p in self.ids[i:j + 1] if p in among]
