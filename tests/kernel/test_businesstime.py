"""Business-hours arithmetic: the figures the comms team's targets and FOI deadlines rest on."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernel.businesstime import (
    add_business_hours,
    add_working_days,
    business_hours_between,
    holidays_in,
    is_working_day,
)
from kernel.config import BusinessHours

LONDON = ZoneInfo("Europe/London")
BH = BusinessHours()


def at(y, m, d, hh=0, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=LONDON)


def test_a_plain_weekday_counts_its_open_hours_only():
    assert business_hours_between(at(2025, 3, 3, 8), at(2025, 3, 3, 18), BH) == 8.0
    assert business_hours_between(at(2025, 3, 3, 16), at(2025, 3, 4, 10), BH) == 2.0


def test_weekend_and_bank_holiday_do_not_count():
    # Easter 2025: Good Friday 18 April, Easter Monday 21 April.
    # Thu 17 April 16:00 -> Tue 22 April 10:00 is one hour each side.
    assert business_hours_between(at(2025, 4, 17, 16), at(2025, 4, 22, 10), BH) == 2.0


def test_every_uk_nation_holiday_is_excluded_by_default():
    assert not is_working_day(date(2025, 3, 17), BH)  # St Patrick's Day (NI)
    assert not is_working_day(date(2025, 1, 2), BH)  # 2 January (Scotland)
    assert not is_working_day(date(2025, 8, 4), BH)  # Summer bank holiday (Scotland)
    assert not is_working_day(date(2025, 8, 25), BH)  # Late summer (England, Wales, NI)
    england = BusinessHours(holiday_nations=["ENG"])
    assert is_working_day(date(2025, 3, 17), england)
    assert date(2025, 7, 14) in holidays_in(2025, ["NIR"])


def test_due_time_rolls_over_the_night_and_weekend():
    # Friday 15:00 + 8 business hours = Monday 15:00.
    assert add_business_hours(at(2025, 3, 7, 15), 8, BH) == at(2025, 3, 10, 15)
    # Arriving on Saturday, the clock starts on Monday at 09:00.
    assert add_business_hours(at(2025, 3, 8, 11), 8, BH) == at(2025, 3, 10, 17)


def test_clock_change_day_is_as_long_as_it_really_was():
    # A 24-hour business day: the last Sunday of March 2025 is 23 hours long.
    allday = BusinessHours(days=["sun"], start=time(0, 0), end=time(23, 59))
    got = business_hours_between(at(2025, 3, 30, 0), at(2025, 3, 30, 23, 59), allday)
    assert got == pytest.approx(22 + 59 / 60)


def test_foi_deadline_is_twenty_working_days_after_receipt():
    # Received Thu 10 April 2025: Good Friday (18th), Easter Monday (21st) and the 5 May
    # bank holiday are skipped; day 20 is Tuesday 13 May.
    got = add_working_days(at(2025, 4, 10, 14), 20, BH)
    assert got == at(2025, 5, 13, 14)
    # Received on a Saturday: Monday is day one.
    assert add_working_days(at(2025, 3, 8, 12), 1, BH) == at(2025, 3, 10, 12)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        business_hours_between(datetime(2025, 1, 1), at(2025, 1, 2), BH)


moments = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2026, 12, 1), timezones=st.just(UTC)
)
spans = st.floats(min_value=0, max_value=120, allow_nan=False)
calendars = st.sampled_from(
    [
        BH,
        BusinessHours(days=["mon", "tue", "wed", "thu", "fri", "sat"], start=time(8), end=time(20)),
        BusinessHours(timezone="Europe/London", start=time(0, 30), end=time(23, 30)),
    ]
)


@settings(max_examples=150, deadline=None)
@given(a=moments, h=spans, bh=calendars)
def test_between_inverts_add(a, h, bh):
    b = add_business_hours(a, h, bh)
    assert b >= a
    assert business_hours_between(a, b, bh) == pytest.approx(h, abs=1e-5)


@settings(max_examples=150, deadline=None)
@given(
    a=moments,
    d1=st.timedeltas(timedelta(0), timedelta(days=20)),
    d2=st.timedeltas(timedelta(0), timedelta(days=20)),
    bh=calendars,
)
def test_between_is_additive_and_monotonic(a, d1, d2, bh):
    b, c = a + d1, a + d1 + d2
    ab, bc, ac = (
        business_hours_between(a, b, bh),
        business_hours_between(b, c, bh),
        business_hours_between(a, c, bh),
    )
    assert ac == pytest.approx(ab + bc, abs=1e-6)
    assert 0 <= ab <= ac
    assert ab <= d1.total_seconds() / 3600 + 1e-9


@settings(max_examples=100, deadline=None)
@given(a=moments, h1=spans, h2=spans, bh=calendars)
def test_add_is_monotonic_and_composes(a, h1, h2, bh):
    lo, hi = sorted((h1, h2))
    assert add_business_hours(a, lo, bh) <= add_business_hours(a, hi, bh)
    step = add_business_hours(add_business_hours(a, h1, bh), h2, bh)
    assert (
        abs((step - add_business_hours(a, h1 + h2, bh)).total_seconds()) < 1e-3
        or business_hours_between(add_business_hours(a, h1 + h2, bh), step, bh) < 1e-6
    )


@settings(max_examples=100, deadline=None)
@given(a=moments, n=st.integers(0, 40))
def test_working_days_land_on_working_days(a, n):
    due = add_working_days(a, n, BH)
    assert due >= a
    if n:
        assert is_working_day(due.date(), BH)
        assert add_working_days(a, n + 1, BH) > due


def test_hours_until_a_fixed_end_matches_business_hours_between():
    import random
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from kernel.businesstime import HoursUntil, business_hours_between, calendar
    from kernel.config import Settings

    cal = calendar(Settings().business_hours)
    rng = random.Random(4)
    for _ in range(40):  # ends and starts across clock changes and bank holidays
        end = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randint(0, 800 * 1440))
        until = HoursUntil(end, cal)
        for _ in range(25):
            start = end - timedelta(minutes=rng.randint(-3000, 200 * 1440))
            if rng.random() < 0.3:
                start = start.astimezone(ZoneInfo("Europe/London"))
            assert abs(until(start) - business_hours_between(start, end, cal)) < 1e-9


def test_add_hours_fast_path_matches_the_day_by_day_walk():
    import random
    from datetime import UTC, datetime, timedelta

    from kernel.businesstime import calendar
    from kernel.config import Settings

    cal = calendar(Settings().business_hours)
    rng = random.Random(2)
    for _ in range(3000):  # across weekends, bank holidays and clock changes
        here = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randint(0, 800 * 86400))
        hours = rng.choice([4, 8, 16, 0.5, 7.99, 24, 40])
        assert cal.add_hours_utc(here, hours) == cal._add_hours_walk(here, hours)
