"""FHIR date, dateTime and instant values as the inclusive UTC microsecond range they cover.

R4 search, date parameters (https://hl7.org/fhir/R4/search.html#date): a date value
"describes an implicit range" set by its precision, so ``2020`` covers the whole year and
``2020-03-01T10:00`` a whole minute. The index keeps ``[start, end]`` in microseconds since
the Unix epoch, both ends inclusive, so a search is a comparison of two ranges.

Time zones: a value with ``Z`` or ``+hh:mm``/``-hh:mm`` is converted to UTC. A value without
a zone (every date and partial date, and a dateTime given without one) is read as UTC; the
spec leaves that to the server's local time zone, and this server's local time is UTC.
"""

from __future__ import annotations

import re

from isocenter.store.schema import INSTANT_MAX, INSTANT_MIN

_SECOND = 1_000_000
_MINUTE = 60 * _SECOND
_DAY = 86_400 * _SECOND

# The R4 dateTime/instant grammar (datatypes.html#dateTime), plus the hh:mm precision that
# search values may use (search.html#date). Seconds may be 60 (a leap second).
_PATTERN = re.compile(
    r"(?P<year>\d{4})"
    r"(?:-(?P<month>\d{2})"
    r"(?:-(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2}):(?P<minute>\d{2})"
    r"(?::(?P<second>\d{2})(?:\.(?P<fraction>\d+))?)?"
    r"(?P<zone>Z|[+-]\d{2}:\d{2})?"
    r")?)?)?",
    re.ASCII,
)
_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def date_range(value: str) -> tuple[int, int]:
    """The inclusive range of UTC microseconds that a date/dateTime/instant covers."""
    match = _PATTERN.fullmatch(value)
    if match is None:
        raise ValueError(f"not a FHIR date, dateTime or instant: {value!r}")
    year, month, day, hour, minute, second, fraction, zone = match.groups()

    start_year = _year(year)
    if month is None:
        return _days(start_year, 1, 1) * _DAY, _days(start_year + 1, 1, 1) * _DAY - 1

    start_month = _month(month)
    if day is None:
        start = _days(start_year, start_month, 1) * _DAY
        return start, start + _month_length(start_year, start_month) * _DAY - 1

    start_day = _day(day, start_year, start_month)
    start = _days(start_year, start_month, start_day) * _DAY
    if hour is None:
        return start, start + _DAY - 1

    start += _clock(hour, minute, second) - _offset(zone)
    if second is None:
        return start, start + _MINUTE - 1
    if fraction is None:
        return start, start + _SECOND - 1
    return _fraction_range(start, fraction)


def period_range(start: str | None, end: str | None) -> tuple[int, int]:
    """The range a Period covers: from the start of ``start`` to the end of ``end``.

    An absent end is open (datatypes.html#Period: "the period is ongoing"), and so is an
    absent start; they become the INSTANT_MIN / INSTANT_MAX sentinels.
    """
    low = INSTANT_MIN if start is None else date_range(start)[0]
    high = INSTANT_MAX if end is None else date_range(end)[1]
    if low > high:
        raise ValueError(f"period ends before it starts: {start!r} .. {end!r}")
    return low, high


def _year(text: str) -> int:
    year = int(text)
    if year < 1:
        raise ValueError("year 0000 is not a FHIR year")
    return year


def _month(text: str) -> int:
    month = int(text)
    if not 1 <= month <= 12:
        raise ValueError(f"month {text} is out of range")
    return month


def _day(text: str, year: int, month: int) -> int:
    day = int(text)
    if not 1 <= day <= _month_length(year, month):
        raise ValueError(f"day {text} is not in {year:04d}-{month:02d}")
    return day


def _clock(hour: str, minute: str, second: str | None) -> int:
    hours, minutes = int(hour), int(minute)
    seconds = 0 if second is None else int(second)
    if hours > 23 or minutes > 59 or seconds > 60:
        raise ValueError(f"time {hour}:{minute}:{second or '00'} is out of range")
    # A leap second is kept inside the minute it belongs to.
    seconds = min(seconds, 59)
    return ((hours * 60 + minutes) * 60 + seconds) * _SECOND


def _offset(zone: str | None) -> int:
    if zone is None or zone == "Z":
        return 0
    hours, minutes = int(zone[1:3]), int(zone[4:6])
    if minutes > 59 or hours > 14 or (hours == 14 and minutes):
        raise ValueError(f"time zone {zone} is out of range")
    offset = (hours * 60 + minutes) * _MINUTE
    return -offset if zone[0] == "-" else offset


def _fraction_range(start: int, fraction: str) -> tuple[int, int]:
    # Digits past the sixth are finer than the index keeps: the range is one microsecond.
    digits = fraction[:6]
    width = 10 ** (6 - len(digits))
    low = start + int(digits) * width
    return low, low + width - 1


def _month_length(year: int, month: int) -> int:
    if month == 2 and _is_leap(year):
        return 29
    return _DAYS_IN_MONTH[month - 1]


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _days(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's algorithm)."""
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146_097 + day_of_era - 719_468
