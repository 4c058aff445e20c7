"""A FHIR search request, parsed into a plan the SQL builder can run (R4 search 3.1.1).

``parse_query`` reads decoded ``(name, value)`` pairs in request order. Repeated
parameters are ANDed, comma-separated values ORed (search.html#combining). Each accepted
parameter is kept in canonical form for the self link; under ``Prefer: handling=lenient``
a parameter that is unknown, unsupported or malformed is left out instead of refused
(search.html#errors).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from isocenter import outcomes
from isocenter.search import values as parse
from isocenter.search.definitions import Registry, SearchParameter

MAX_CHAIN_DEPTH = 3

# Result parameters the HTTP layer applies itself: accepted, not echoed in self links.
HTTP_PARAMETERS = frozenset({"_format", "_pretty"})
SUMMARY_VALUES = frozenset({"true", "text", "data", "count", "false"})
TOTAL_VALUES = frozenset({"accurate", "none", "estimate"})
SORTABLE_TYPES = frozenset(
    {"string", "date", "token", "number", "quantity", "reference", "uri"}
)
# search.html#modifiers, for the modifiers this server implements.
MODIFIERS = {
    "token": frozenset({"not", "text"}),
    "string": frozenset({"exact", "contains"}),
    "uri": frozenset({"below", "above"}),
    "date": frozenset(),
    "number": frozenset(),
    "quantity": frozenset(),
    "reference": frozenset(),
}
_ELEMENT = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)?")
# search.html#other and #query: defined by the spec, not offered by this server.
_NOT_SUPPORTED = frozenset(
    {"_text", "_content", "_list", "_query", "_filter", "_contained", "_containedType"}
)


class Rejected(Exception):
    """A parameter this server will not run; ``unsupported`` picks not-supported (400)."""

    def __init__(self, reason: str, *, unsupported: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.unsupported = unsupported


@dataclass(frozen=True)
class Match:
    """Rows of ``parameter`` matching any of ``values`` (or none of them, for ``:not``)."""

    parameter: SearchParameter
    modifier: str | None
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Missing:
    parameter: SearchParameter
    missing: bool


@dataclass(frozen=True)
class Chain:
    """``ref.param=v`` or ``ref:Type.param=v``: the referenced resource matches ``inner``."""

    parameter: SearchParameter
    inner: tuple[tuple[str, Criterion], ...]


@dataclass(frozen=True)
class Has:
    """``_has:Type:ref:param=v``: a ``Type`` resource referring here by ``ref`` matches."""

    source_type: str
    parameter: SearchParameter
    inner: Criterion


Criterion = Match | Missing | Chain | Has


@dataclass(frozen=True)
class SortKey:
    parameter: SearchParameter
    descending: bool


@dataclass(frozen=True)
class Include:
    """``_include`` / ``_revinclude`` = ``source_type:parameter[:target_type]``."""

    source_type: str
    parameter: SearchParameter
    target_type: str | None
    iterate: bool


@dataclass
class SearchQuery:
    resource_type: str
    criteria: list[Criterion] = field(default_factory=list)
    sort: list[SortKey] = field(default_factory=list)
    count: int = 50
    total: str = "accurate"
    includes: list[Include] = field(default_factory=list)
    revincludes: list[Include] = field(default_factory=list)
    summary: str | None = None
    elements: list[str] | None = None
    cursor: str | None = None
    self_params: list[tuple[str, str]] = field(default_factory=list)

    @property
    def count_only(self) -> bool:
        return self.summary == "count" or self.count == 0


@dataclass(frozen=True)
class QueryParser:
    registry: Registry
    fhir_base_url: str
    default_count: int = 50
    max_count: int = 1000

    def parse(
        self, resource_type: str, params: list[tuple[str, str]], *, lenient: bool = False
    ) -> SearchQuery:
        """The plan for ``params`` on ``resource_type`` (search.html#search)."""
        if resource_type not in self.registry.resource_types():
            raise outcomes.unknown_type(resource_type)
        query = SearchQuery(resource_type, count=self.default_count)
        for name, value in params:
            try:
                self._accept(query, name, value)
            except Rejected as rejected:
                if lenient:
                    continue
                if rejected.unsupported:
                    raise outcomes.unsupported_parameter(name, rejected.reason) from None
                raise outcomes.invalid_parameter(name, rejected.reason) from None
        return query

    def criterion(self, resource_type: str, name: str, value: str) -> Criterion:
        """One search parameter (possibly chained or reverse-chained) as a criterion."""
        return self._criterion(resource_type, name, value, depth=0)

    def _accept(self, query: SearchQuery, name: str, value: str) -> None:
        if name in HTTP_PARAMETERS:
            return
        base, modifier = name.split(":", 1) if ":" in name else (name, "")
        handler = _RESULT_PARAMETERS.get(base)
        if handler is not None:
            if modifier and base not in ("_include", "_revinclude"):
                raise Rejected(f"{base} takes no modifier")
            canonical = handler(self, query, name, value)
            query.self_params.append((name, canonical))
            return
        if value == "":
            # An empty value constrains nothing; it is dropped rather than refused.
            return
        criterion = self.criterion(query.resource_type, name, value)
        query.criteria.append(criterion)
        query.self_params.append((name, _canonical_value(criterion, value)))

    def _criterion(self, resource_type: str, name: str, value: str, depth: int) -> Criterion:
        if depth > MAX_CHAIN_DEPTH:
            raise Rejected(f"chains are limited to {MAX_CHAIN_DEPTH} levels")
        if name.startswith("_has:"):
            return self._has(resource_type, name, value, depth)
        head, dot, rest = name.partition(".")
        code, _, modifier = head.partition(":")
        parameter = self._parameter(resource_type, code)
        if dot:
            return self._chain(parameter, modifier or None, rest, value, depth)
        return self._match(parameter, modifier or None, value)

    def _parameter(self, resource_type: str, code: str) -> SearchParameter:
        parameter = self.registry.get(resource_type, code)
        if code in _NOT_SUPPORTED:
            raise Rejected("this search parameter is not supported", unsupported=True)
        if parameter is None:
            raise Rejected(f"unknown search parameter for {resource_type}")
        if parameter.type in ("composite", "special"):
            raise Rejected(f"{parameter.type} parameters are not supported", unsupported=True)
        if not parameter.supported:
            raise Rejected("this search parameter is not supported", unsupported=True)
        return parameter

    def _chain(
        self,
        parameter: SearchParameter,
        modifier: str | None,
        rest: str,
        value: str,
        depth: int,
    ) -> Chain:
        """search.html#chaining: one target type per ``:Type``, else every fitting target."""
        if parameter.type != "reference":
            raise Rejected("only reference parameters can be chained")
        if modifier is not None:
            self._check_target(parameter, modifier)
            candidates: tuple[str, ...] = (modifier,)
        else:
            candidates = parameter.targets
        chained_code = rest.split(".", 1)[0].split(":", 1)[0]
        inner = tuple(
            (target, self._criterion(target, rest, value, depth + 1))
            for target in candidates
            if chained_code.startswith("_has") or self.registry.get(target, chained_code)
        )
        if not inner:
            raise Rejected(f"no target of {parameter.code} has a parameter {chained_code!r}")
        return Chain(parameter, inner)

    def _has(self, resource_type: str, name: str, value: str, depth: int) -> Has:
        """search.html#has: ``_has:Type:reference-param:rest``."""
        parts = name.split(":", 3)
        if len(parts) < 4 or not all(parts[1:]):
            raise Rejected("_has takes the form _has:Type:reference:parameter")
        _, source_type, code, rest = parts
        if source_type not in self.registry.resource_types():
            raise Rejected(f"unknown resource type {source_type!r}")
        parameter = self._parameter(source_type, code)
        if parameter.type != "reference":
            raise Rejected(f"{source_type}.{code} is not a reference parameter")
        if parameter.targets and resource_type not in parameter.targets:
            raise Rejected(f"{source_type}.{code} never refers to a {resource_type}")
        inner = self._criterion(source_type, rest, value, depth + 1)
        return Has(source_type, parameter, inner)

    def _match(self, parameter: SearchParameter, modifier: str | None, value: str) -> Criterion:
        if modifier == "missing":
            if value not in ("true", "false"):
                raise Rejected(":missing takes true or false")
            return Missing(parameter, value == "true")
        if parameter.code in ("_id", "_lastUpdated") and modifier not in (None, "not"):
            raise Rejected(f"modifier :{modifier} is not supported on {parameter.code}")
        if modifier is not None and parameter.type == "reference":
            self._check_target(parameter, modifier)
        elif modifier is not None and modifier not in MODIFIERS[parameter.type]:
            raise Rejected(f"modifier :{modifier} is not supported on {parameter.type}")
        try:
            parsed = tuple(
                self._value(parameter, modifier, text) for text in parse.split_values(value)
            )
        except ValueError as error:
            raise Rejected(str(error)) from None
        return Match(parameter, modifier, parsed)

    def _value(self, parameter: SearchParameter, modifier: str | None, text: str) -> Any:
        if parameter.code == "_id":
            return parse.uri(text)
        kind = parameter.type
        if kind == "token":
            return parse.string(text) if modifier == "text" else parse.token(text)
        if kind == "reference":
            return parse.reference(text, self.fhir_base_url, modifier)
        return _VALUE_PARSERS[kind](text)

    def _check_target(self, parameter: SearchParameter, type_name: str) -> None:
        if type_name not in self.registry.resource_types():
            raise Rejected(f"unknown modifier or resource type :{type_name}")
        if parameter.targets and type_name not in parameter.targets:
            raise Rejected(f"{parameter.code} never refers to a {type_name}")

    def _sort(self, query: SearchQuery, name: str, value: str) -> str:
        """search.html#sort: comma-separated codes, ``-`` for descending."""
        keys = []
        for text in value.split(","):
            code = text.removeprefix("-")
            parameter = self._parameter(query.resource_type, code)
            if parameter.type not in SORTABLE_TYPES:
                raise Rejected(f"cannot sort by a {parameter.type} parameter")
            keys.append(SortKey(parameter, text.startswith("-")))
        query.sort = keys
        return value

    def _count(self, query: SearchQuery, name: str, value: str) -> str:
        """search.html#count: a page size; above the maximum it is clamped, not refused."""
        if not value.isdigit():
            raise Rejected("_count takes a non-negative integer")
        query.count = min(int(value), self.max_count)
        return str(query.count)

    def _total(self, query: SearchQuery, name: str, value: str) -> str:
        if value not in TOTAL_VALUES:
            raise Rejected("_total takes none, estimate or accurate")
        query.total = value
        return value

    def _summary(self, query: SearchQuery, name: str, value: str) -> str:
        if value not in SUMMARY_VALUES:
            raise Rejected("_summary takes true, text, data, count or false")
        query.summary = value
        return value

    def _elements(self, query: SearchQuery, name: str, value: str) -> str:
        elements = [element.strip() for element in value.split(",") if element.strip()]
        if not elements or not all(_ELEMENT.fullmatch(element) for element in elements):
            raise Rejected("_elements takes a comma-separated list of element names")
        query.elements = elements
        return ",".join(elements)

    def _cursor(self, query: SearchQuery, name: str, value: str) -> str:
        query.cursor = value
        return value

    def _include(self, query: SearchQuery, name: str, value: str) -> str:
        """search.html#include: ``Type:param[:targetType]``, ``:iterate`` to follow on."""
        base, _, modifier = name.partition(":")
        if modifier not in ("", "iterate", "recurse"):
            raise Rejected(f"{base} takes only the :iterate modifier")
        parts = value.split(":")
        if value == "*" or len(parts) not in (2, 3):
            raise Rejected(
                f"{base} takes Type:parameter[:targetType]", unsupported=value == "*"
            )
        source_type, code = parts[0], parts[1]
        if source_type not in self.registry.resource_types():
            raise Rejected(f"unknown resource type {source_type!r}")
        parameter = self._parameter(source_type, code)
        if parameter.type != "reference":
            raise Rejected(f"{source_type}:{code} is not a reference parameter")
        target_type = parts[2] if len(parts) == 3 else None
        if target_type is not None:
            self._check_target(parameter, target_type)
        include = Include(source_type, parameter, target_type, iterate=bool(modifier))
        (query.revincludes if base == "_revinclude" else query.includes).append(include)
        return value


_VALUE_PARSERS: dict[str, Callable[[str], Any]] = {
    "string": parse.string,
    "date": parse.date,
    "number": parse.number,
    "quantity": parse.quantity,
    "uri": parse.uri,
}

_ResultHandler = Callable[[QueryParser, SearchQuery, str, str], str]
_RESULT_PARAMETERS: dict[str, _ResultHandler] = {
    "_sort": QueryParser._sort,
    "_count": QueryParser._count,
    "_total": QueryParser._total,
    "_summary": QueryParser._summary,
    "_elements": QueryParser._elements,
    "_cursor": QueryParser._cursor,
    "_include": QueryParser._include,
    "_revinclude": QueryParser._include,
}


def _canonical_value(criterion: Criterion, value: str) -> str:
    """The value as echoed in the self link: a date's zone ``+`` restored."""
    while isinstance(criterion, Chain | Has):
        criterion = criterion.inner[0][1] if isinstance(criterion, Chain) else criterion.inner
    if isinstance(criterion, Match) and criterion.parameter.type == "date":
        return parse.canonical_date(value)
    return value
