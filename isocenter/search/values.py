"""Search values of each parameter kind, parsed from their text (R4 search 3.1.1.4).

Each parser takes one value (a comma has already split a parameter's values) and returns
a small frozen object the SQL builder reads; it raises ``ValueError`` with a short reason
when the value is malformed, and the caller turns that into an OperationOutcome.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from isocenter.search.dates import date_range
from isocenter.search.normalize import normalize_string

# search.html#prefix: the prefixes a number, date or quantity value may start with.
PREFIXES = frozenset({"eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"})

_TYPE_NAME = re.compile(r"[A-Z][A-Za-z]+")
_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


@dataclass(frozen=True)
class TokenValue:
    """``code``, ``system|code``, ``|code`` or ``system|`` (search.html#token)."""

    system: str | None
    code: str | None
    # ``|code``: the code must have no system at all.
    no_system: bool = False


@dataclass(frozen=True)
class StringValue:
    raw: str
    normalized: str


@dataclass(frozen=True)
class DateValue:
    prefix: str
    start: int
    end: int


@dataclass(frozen=True)
class NumberValue:
    """A number with the half-open range its precision implies (search.html#number)."""

    prefix: str
    value: float
    low: float
    high: float


@dataclass(frozen=True)
class QuantityValue:
    number: NumberValue
    system: str | None
    code: str | None


@dataclass(frozen=True)
class ReferenceValue:
    """A local target (type and/or id) or, for other absolute URLs, the url itself."""

    target_type: str | None
    target_id: str | None
    url: str | None = None


def split_values(text: str) -> list[str]:
    """Split on commas that are not escaped with a backslash (search.html#escaping)."""
    return _split(text, ",")


def unescape(text: str) -> str:
    return re.sub(r"\\([\\,|$])", r"\1", text)


def token(text: str) -> TokenValue:
    parts = _split(text, "|", limit=1)
    if len(parts) == 1:
        return TokenValue(None, _required(unescape(parts[0]), "code"))
    system, code = unescape(parts[0]), unescape(parts[1])
    if not system and not code:
        raise ValueError("a token needs a system or a code")
    if not system:
        return TokenValue(None, code, no_system=True)
    return TokenValue(system, code or None)


def string(text: str) -> StringValue:
    raw = unescape(text)
    return StringValue(raw, normalize_string(raw))


def date(text: str) -> DateValue:
    prefix, rest = _prefix(text)
    # A `+` of a time zone that was not percent-encoded arrives as a space; no date has one.
    rest = rest.replace(" ", "+")
    start, end = date_range(rest)
    return DateValue(prefix, start, end)


def canonical_date(text: str) -> str:
    return text.replace(" ", "+")


def number(text: str) -> NumberValue:
    prefix, rest = _prefix(text)
    try:
        value = Decimal(rest)
    except InvalidOperation:
        raise ValueError(f"not a number: {rest!r}") from None
    if not value.is_finite():
        raise ValueError(f"not a finite number: {rest!r}")
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    # Half a unit in the last significant place: "100" covers [99.5, 100.5).
    half = Decimal(5).scaleb(exponent - 1)
    return NumberValue(prefix, float(value), float(value - half), float(value + half))


def quantity(text: str) -> QuantityValue:
    parts = _split(text, "|", limit=2)
    if len(parts) == 2:
        raise ValueError("a quantity is number, number|system|code or number||code")
    amount = number(parts[0])
    if len(parts) == 1:
        return QuantityValue(amount, None, None)
    system, code = unescape(parts[1]) or None, unescape(parts[2]) or None
    return QuantityValue(amount, system, code)


def reference(text: str, fhir_base_url: str, type_modifier: str | None) -> ReferenceValue:
    """Parse ``id``, ``Type/id``, this server's ``{base}/Type/id`` or another URL."""
    value = unescape(text)
    base = fhir_base_url.rstrip("/") + "/"
    if value.startswith(base):
        value = value[len(base) :]
    elif "://" in value or value.startswith("urn:"):
        return ReferenceValue(None, None, url=value)
    value = re.sub(r"/_history/[^/]+$", "", value)
    parts = value.split("/")
    if len(parts) == 1 and _ID.fullmatch(parts[0]):
        return ReferenceValue(type_modifier, parts[0])
    if len(parts) == 2 and _TYPE_NAME.fullmatch(parts[0]) and _ID.fullmatch(parts[1]):
        if type_modifier is not None and type_modifier != parts[0]:
            raise ValueError(f"{parts[0]} contradicts the :{type_modifier} modifier")
        return ReferenceValue(parts[0], parts[1])
    raise ValueError(f"not an id, Type/id or absolute URL: {value!r}")


def uri(text: str) -> str:
    return _required(unescape(text), "uri")


def _prefix(text: str) -> tuple[str, str]:
    if len(text) > 2 and text[:2] in PREFIXES:
        return text[:2], text[2:]
    return "eq", text


def _required(value: str, what: str) -> str:
    if not value:
        raise ValueError(f"empty {what}")
    return value


def _split(text: str, separator: str, limit: int = -1) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    escaped = False
    for char in text:
        if escaped:
            current.append("\\" + char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == separator and (limit < 0 or len(parts) < limit):
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if escaped:
        current.append("\\")
    parts.append("".join(current))
    return parts
