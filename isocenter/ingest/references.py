"""Resolving references on the way in: ``urn:uuid:`` fullUrls and conditional references.

- A Bundle's ``urn:uuid:`` / ``urn:oid:`` fullUrls stand for resources that get their
  final ``Type/id`` only while the Bundle is processed; every Reference.reference that
  names one is rewritten to that ``Type/id`` (http://hl7.org/fhir/R4/bundle.html#references,
  http.html#trules), at any depth: extensions, backbone elements, contained resources.
- A conditional reference ``Type?query`` (http.html#trules, "conditional references") is
  replaced by the one resource the search matches. None yet may mean the target arrives
  later in the same load, so callers retry (``write_in_waves``) before calling it missing;
  more than one is an error (412, multiple-matches).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection

from isocenter.outcomes import OperationOutcomeError, invalid

_CONDITIONAL = re.compile(r"([A-Z][A-Za-z]+)\?(.+)", re.DOTALL)
LOCAL_URN_PREFIXES = ("urn:uuid:", "urn:oid:")


class IdMatcher(Protocol):
    """What conditional references need from search: ids matching a query, in a connection.

    ``isocenter.search.engine.SearchEngine`` is one.
    """

    def matching_ids(
        self, resource_type: str, query: str, *, connection: Connection | None = None
    ) -> list[str]: ...


def split_conditional(reference: str) -> tuple[str, str] | None:
    """``("Patient", "identifier=s|v")`` for ``Patient?identifier=s|v``; None otherwise."""
    found = _CONDITIONAL.fullmatch(reference)
    return (found.group(1), found.group(2)) if found else None


def rewrite_local_references(holders: list[dict[str, Any]], full_urls: dict[str, str]) -> None:
    """Replace references to a Bundle's urn fullUrls by the resources' final ``Type/id``.

    ``holders`` are a resource's Reference elements, as ``validation.check_resource``
    returns them.
    """
    for holder in holders:
        reference = holder["reference"]
        if not reference.startswith(LOCAL_URN_PREFIXES):
            continue
        if reference not in full_urls:
            raise invalid(
                f"reference {reference!r} does not match the fullUrl of any entry",
                expression=["reference"],
            )
        holder["reference"] = full_urls[reference]


def multiple_matches(reference: str, count: int) -> OperationOutcomeError:
    return OperationOutcomeError(
        412,
        "multiple-matches",
        f"conditional reference {reference!r} matches {count} resources",
    )


def no_match(reference: str) -> OperationOutcomeError:
    return OperationOutcomeError(
        404, "not-found", f"conditional reference {reference!r} matches no resource"
    )


@dataclass
class ConditionalReferences:
    """Resolves ``Type?query`` references by search, remembering what each one resolved to.

    Found targets are remembered for the whole load: a resource that matched stays the
    match (a later resource with the same identifier is not looked for again). References
    that matched nothing are remembered only until the next write (``written``), which
    may bring their target.
    """

    matcher: IdMatcher
    resource_types: Collection[str]
    resolved: dict[str, str] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)

    def written(self) -> None:
        """New resources were written: what matched nothing may match now."""
        self.missing.clear()

    def forget(self) -> None:
        """A transaction was rolled back: what it resolved to may be gone."""
        self.resolved.clear()
        self.missing.clear()

    def pending(self, holders: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The Reference elements among ``holders`` that are still conditional."""
        conditional = []
        for holder in holders:
            parsed = split_conditional(holder["reference"])
            if parsed is None:
                continue
            if parsed[0] not in self.resource_types:
                raise invalid(f"conditional reference {holder['reference']!r}: unknown type")
            conditional.append(holder)
        return conditional

    def resolve(self, holders: list[dict[str, Any]], connection: Connection) -> bool:
        """Rewrite what resolves now; True when nothing conditional is left in ``holders``."""
        complete = True
        for holder in holders:
            reference = holder["reference"]
            if reference in self.missing:
                complete = False
                continue
            target = self.resolved.get(reference) or self._search(reference, connection)
            if target is None:
                self.missing.add(reference)
                complete = False
                continue
            holder["reference"] = target
        return complete

    def _search(self, reference: str, connection: Connection) -> str | None:
        parsed = split_conditional(reference)
        if parsed is None:
            return reference
        resource_type, query = parsed
        ids = self.matcher.matching_ids(resource_type, query, connection=connection)
        if len(ids) > 1:
            raise multiple_matches(reference, len(ids))
        if not ids:
            return None
        self.resolved[reference] = f"{resource_type}/{ids[0]}"
        return self.resolved[reference]


Item = TypeVar("Item")


def write_in_waves(
    items: Sequence[Item],
    holders_of: Callable[[Item], list[dict[str, Any]]],
    write: Callable[[list[Item]], None],
    references: ConditionalReferences,
    connection: Connection,
    on_error: Callable[[Item, OperationOutcomeError], None],
) -> list[Item]:
    """Write ``items`` so that conditional references can point at earlier-written ones.

    Wave 1 writes everything whose references all resolve now; each next wave retries the
    rest against what is written so far, until a wave makes no progress. Returns the items
    still unresolved (their references not rewritten further). An item whose reference is
    ambiguous (or otherwise fails) goes to ``on_error`` and is not written.
    """
    waiting = []
    for item in items:
        try:
            waiting.append((item, references.pending(holders_of(item))))
        except OperationOutcomeError as error:
            on_error(item, error)
    while waiting:
        ready: list[Item] = []
        still: list[tuple[Item, list[dict[str, Any]]]] = []
        for item, holders in waiting:
            try:
                complete = references.resolve(holders, connection)
            except OperationOutcomeError as error:
                on_error(item, error)
                continue
            if complete:
                ready.append(item)
            else:
                still.append((item, [h for h in holders if split_conditional(h["reference"])]))
        if ready:
            write(ready)
            references.written()
        if len(still) == len(waiting) or not still:
            return [item for item, _ in still]
        waiting = still
    return []


def first_unresolved(holders: list[dict[str, Any]]) -> str | None:
    """The first conditional reference left among ``holders`` (for error messages)."""
    for holder in holders:
        if split_conditional(holder["reference"]):
            reference: str = holder["reference"]
            return reference
    return None
