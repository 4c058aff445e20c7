"""Conversions between FHIR instants and the integer microseconds the tables keep."""

from __future__ import annotations

import time
from datetime import UTC, datetime

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def now_microseconds() -> int:
    return time.time_ns() // 1000


def to_instant(microseconds: int) -> str:
    """Format as a FHIR instant in UTC with microsecond precision."""
    moment = datetime.fromtimestamp(microseconds / 1_000_000, tz=UTC)
    moment = moment.replace(microsecond=microseconds % 1_000_000)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


def to_http_date(microseconds: int) -> str:
    """Format for the Last-Modified header (RFC 9110 IMF-fixdate)."""
    moment = datetime.fromtimestamp(microseconds // 1_000_000, tz=UTC)
    return moment.strftime("%a, %d %b %Y %H:%M:%S GMT")


def from_datetime(moment: datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
