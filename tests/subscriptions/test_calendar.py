"""Period arithmetic in Asia/Seoul: month ends, leap years, and properties over any anchor."""

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from subscriptions import calendar
from tests.subscriptions.conftest import seoul


@pytest.mark.parametrize(
    ("anchor", "interval", "expected"),
    [
        (
            seoul(2027, 1, 31, 9),
            "month",
            [seoul(2027, 2, 28, 9), seoul(2027, 3, 31, 9), seoul(2027, 4, 30, 9)],
        ),
        (
            seoul(2028, 1, 31, 9),
            "month",
            [seoul(2028, 2, 29, 9), seoul(2028, 3, 31, 9), seoul(2028, 4, 30, 9)],
        ),
        (
            seoul(2028, 2, 29, 9),
            "year",
            [seoul(2029, 2, 28, 9), seoul(2030, 2, 28, 9), seoul(2032, 2, 29, 9)],
        ),
        (seoul(2027, 12, 30, 23, 59), "week", [seoul(2028, 1, 6, 23, 59), seoul(2028, 1, 13, 23, 59)]),
    ],
)
def test_boundaries(anchor, interval, expected):
    steps = [1, 2, 4] if interval == "year" else range(1, len(expected) + 1)
    assert [calendar.boundary(anchor, interval, 1, n) for n in steps] == expected


def test_a_utc_anchor_is_counted_in_seoul():
    # 2027-01-30 16:00 UTC is Jan 31 01:00 in Seoul: the month end is Seoul's.
    anchor = datetime.datetime(2027, 1, 30, 16, tzinfo=datetime.UTC)
    assert calendar.boundary(anchor, "month", 1, 1) == seoul(2027, 2, 28, 1)


anchors = st.datetimes(
    min_value=datetime.datetime(2000, 1, 1),
    max_value=datetime.datetime(2090, 1, 1),
    timezones=st.just(calendar.SEOUL),
)


@given(
    anchor=anchors,
    interval=st.sampled_from(["week", "month", "year"]),
    count=st.integers(1, 3),
    n=st.integers(0, 60),
)
def test_periods_follow_each_other_and_keep_the_anchor_day(anchor, interval, count, n):
    start = calendar.boundary(anchor, interval, count, n)
    end = calendar.boundary(anchor, interval, count, n + 1)

    assert start < end
    assert calendar.period_containing(anchor, interval, count, start) == (start, end)
    assert calendar.period_containing(anchor, interval, count, end - datetime.timedelta(seconds=1)) == (
        start,
        end,
    )
    assert calendar.period_end_after(anchor, interval, count, start) == end
    local = start.astimezone(calendar.SEOUL)
    assert local.time() == anchor.time()
    if interval != "week":
        assert local.day == min(anchor.day, _days_in(local.year, local.month))


def _days_in(year: int, month: int) -> int:
    import calendar as stdlib_calendar

    return stdlib_calendar.monthrange(year, month)[1]
