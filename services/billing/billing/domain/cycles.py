"""The billing calendar, free of I/O: which cycle an instant falls in, and the cycle after it.

A cycle is the half-open interval [start, end) between two consecutive billing dates (00:00 UTC).
Monthly, quarterly and yearly cycles turn on the billing day of the month (29-31 fall back to the
month's last day); quarterly and yearly ones in the months of the profile's anchor (the month its
validity starts, then every 3 or 12 months). Weekly cycles turn on an ISO weekday, daily ones at
midnight. Consecutive cycles tile time: the end of one is the start of the next.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from billing.domain.profiles import Interval, billing_date

MONTHS_PER_CYCLE = {Interval.MONTHLY: 1, Interval.QUARTERLY: 3, Interval.YEARLY: 12}


@dataclass(frozen=True)
class Calendar:
    interval: Interval
    billing_day: int
    anchor_month: int = 1  # 1-12; only quarterly and yearly cycles use it

    def cycle_containing(self, at: datetime) -> Cycle:
        """The cycle with start <= at < end."""
        _require_aware(at)
        at = at.astimezone(UTC)
        start = self._last_boundary_at_or_before(at)
        return Cycle(start, self._first_boundary_after(start))

    def next_cycle(self, cycle: Cycle) -> Cycle:
        return self.cycle_containing(cycle.end)

    def _last_boundary_at_or_before(self, at: datetime) -> datetime:
        day = at.date()
        if self.interval is Interval.DAILY:
            return _midnight(day)
        if self.interval is Interval.WEEKLY:
            return _midnight(day - timedelta(days=(day.isoweekday() - self.billing_day) % 7))
        index = self._anchored_index(day)
        boundary = self._boundary(index)
        return boundary if boundary <= at else self._boundary(index - MONTHS_PER_CYCLE[self.interval])

    def _anchored_index(self, day: date) -> int:
        """The month (as year * 12 + month - 1) of the cycle turn at or before `day`'s month."""
        index = day.year * 12 + day.month - 1
        return index - (index - (self.anchor_month - 1)) % MONTHS_PER_CYCLE[self.interval]

    def _first_boundary_after(self, after: datetime) -> datetime:
        day = after.date()
        if self.interval is Interval.DAILY:
            return _midnight(day + timedelta(days=1))
        if self.interval is Interval.WEEKLY:
            return _midnight(day + timedelta(days=(self.billing_day - day.isoweekday() - 1) % 7 + 1))
        step = MONTHS_PER_CYCLE[self.interval]
        start = self._last_boundary_at_or_before(after)
        return self._boundary(self._anchored_index(start.date()) + step)

    def _boundary(self, month_index: int) -> datetime:
        year, month = divmod(month_index, 12)
        return _midnight(billing_date(year, month + 1, self.billing_day))


@dataclass(frozen=True)
class Cycle:
    start: datetime
    end: datetime

    def contains(self, at: datetime) -> bool:
        return self.start <= at < self.end


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _require_aware(at: datetime) -> None:
    if at.tzinfo is None:
        raise ValueError("calendar instants must be time-zone aware (UTC)")
