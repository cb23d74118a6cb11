"""Period arithmetic in Asia/Seoul, pure functions.

Every boundary is counted from the subscription's anchor, never from the previous boundary, so a
month that is too short clamps only itself: anchored on Jan 31, periods end Feb 28 (29 in a leap
year), then Mar 31, Apr 30, May 31; anchored on Feb 29, a yearly plan renews on Feb 28, and on
Feb 29 again in the next leap year. The time of day is kept.
"""

import calendar
import datetime
from zoneinfo import ZoneInfo

SEOUL = ZoneInfo("Asia/Seoul")
WEEK, MONTH, YEAR = "week", "month", "year"


def boundary(anchor: datetime.datetime, interval: str, interval_count: int, n: int) -> datetime.datetime:
    """The start of period ``n`` (0 is the anchor itself), in Asia/Seoul."""
    if anchor.tzinfo is None:
        raise ValueError("anchor must be timezone-aware")
    local = anchor.astimezone(SEOUL)
    if interval == WEEK:
        return local + datetime.timedelta(weeks=interval_count * n)  # Seoul keeps no daylight saving
    if interval == MONTH:
        months = interval_count * n
    elif interval == YEAR:
        months = 12 * interval_count * n
    else:
        raise ValueError(f"unknown interval {interval!r}")
    years, month_index = divmod(local.month - 1 + months, 12)
    year, month = local.year + years, month_index + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day)


def period_containing(
    anchor: datetime.datetime, interval: str, interval_count: int, moment: datetime.datetime
) -> tuple[datetime.datetime, datetime.datetime]:
    """The period ``[start, end)`` that contains ``moment`` (at or after the anchor)."""
    if moment < anchor:
        raise ValueError("moment before the anchor")
    n = _estimate(anchor, interval, interval_count, moment)
    while n > 0 and boundary(anchor, interval, interval_count, n) > moment:
        n -= 1
    while boundary(anchor, interval, interval_count, n + 1) <= moment:
        n += 1
    return boundary(anchor, interval, interval_count, n), boundary(anchor, interval, interval_count, n + 1)


def period_end_after(
    anchor: datetime.datetime, interval: str, interval_count: int, start: datetime.datetime
) -> datetime.datetime:
    """The end of the period that starts at (or contains) ``start``."""
    return period_containing(anchor, interval, interval_count, start)[1]


def add_days(moment: datetime.datetime, days: int | float) -> datetime.datetime:
    return moment + datetime.timedelta(days=days)


def _estimate(
    anchor: datetime.datetime, interval: str, interval_count: int, moment: datetime.datetime
) -> int:
    a, m = anchor.astimezone(SEOUL), moment.astimezone(SEOUL)
    if interval == WEEK:
        return max(0, (m - a).days // (7 * interval_count))
    months = (m.year - a.year) * 12 + m.month - a.month
    per_period = interval_count * (12 if interval == YEAR else 1)
    return max(0, months // per_period)
