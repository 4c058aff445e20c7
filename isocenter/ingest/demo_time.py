"""Fixed clock of the demo cohort: an anchor day and US Eastern local times.

Every date is derived from ``ANCHOR`` and the case table, never from today's date, so the
cohort is the same on every run. Clinic times carry their UTC offset (-05:00 or -04:00)
and instants such as ``issued`` are written in UTC, so date searches meet both forms.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

ANCHOR = date(2025, 1, 15)

_STANDARD = timedelta(hours=-5)
_DAYLIGHT = timedelta(hours=-4)


def _nth_sunday(year: int, month: int, n: int) -> date:
    first = date(year, month, 1)
    first_sunday = first + timedelta(days=(6 - first.weekday()) % 7)
    return first_sunday + timedelta(weeks=n - 1)


def eastern_offset(moment: datetime) -> timedelta:
    """UTC offset of a US Eastern wall-clock time (Energy Policy Act of 2005 rule)."""
    starts = datetime.combine(_nth_sunday(moment.year, 3, 2), time(2))
    ends = datetime.combine(_nth_sunday(moment.year, 11, 1), time(2))
    return _DAYLIGHT if starts <= moment < ends else _STANDARD


def local(moment: datetime) -> str:
    """A FHIR dateTime for an Eastern wall-clock time, with its offset."""
    offset = eastern_offset(moment)
    hours, rest = divmod(int(abs(offset).total_seconds()), 3600)
    sign = "-" if offset < timedelta(0) else "+"
    return f"{moment.isoformat(timespec='seconds')}{sign}{hours:02d}:{rest // 60:02d}"


def utc(moment: datetime) -> str:
    """A FHIR instant in UTC for an Eastern wall-clock time."""
    instant = moment - eastern_offset(moment)
    return f"{instant.isoformat(timespec='seconds')}Z"


def day(moment: date) -> str:
    return moment.isoformat()[:10]


def at(moment: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(moment, time(hour, minute))


def weekday_on_or_after(moment: date) -> date:
    """Clinics are shut at weekends: move a Saturday or Sunday to the Monday."""
    shift = 7 - moment.weekday() if moment.weekday() > 4 else 0
    return moment + timedelta(days=shift)
