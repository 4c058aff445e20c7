"""FHIRPath expressions of search parameters, compiled once into fast evaluators.

A SearchParameter's ``expression`` (R4 searchparameter.html, FHIRPath N1
http://hl7.org/fhirpath/N1/) says what a parameter indexes. Nearly all R4 and US Core
expressions are simple paths, so they are compiled here into closures that walk the JSON
with the element types known up front (from the R4 model shipped with fhirpathpy):

    Type.a.b          Type.a[0].b        Type.a.first()      unions  a | b
    (Type.a as T)     Type.a.as(T)       Type.a.ofType(T)    (Type.a as T).b
    Type.a.where(resolve() is T)         Type.a.where(b = 'v')

Anything else falls back to fhirpathpy. Either way an evaluator returns the values with
their FHIR type names, which is what the indexer needs to turn them into rows. Choice
elements (``Observation.value``) are found under their typed JSON names (``valueQuantity``);
primitive extensions (``_birthDate``) are not values.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import fhirpathpy
from fhirpathpy.engine.nodes import ResourceNode
from fhirpathpy.models import models

# A value found by an expression: (FHIR type name, JSON value).
Typed = tuple[str, Any]
Evaluate = Callable[[dict[str, Any]], list[Typed]]
# One compiled step: from a collection, append typed results to ``out``.
_Step = Callable[[list[Any], list[Typed]], None]

_MODEL: dict[str, Any] = models["r4"]
_PATH_TYPES: dict[str, str] = _MODEL["path2Type"]
_CHOICES: dict[str, list[str]] = _MODEL["choiceTypePaths"]
_ELSEWHERE: dict[str, str] = _MODEL["pathsDefinedElsewhere"]
_PARENTS: dict[str, str] = _MODEL["type2Parent"]
_BACKBONES = frozenset(
    path.rsplit(".", 1)[0] for path in _PATH_TYPES if path.count(".") >= 2
) | frozenset(_ELSEWHERE.values())

_ABSTRACT_ROOTS = frozenset({"Resource", "DomainResource"})
_STRING_TYPES = frozenset(
    {"string", "code", "uri", "url", "canonical", "id", "oid", "uuid", "System.String"}
)

# Type/id at the end of a relative or absolute reference, with an optional version.
_REFERENCE = re.compile(
    r"(?:^|/)(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})"
    r"(?:/_history/[A-Za-z0-9\-.]{1,64})?$",
    re.ASCII,
)
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*", re.ASCII)
_INDEX = re.compile(r"(?P<name>[A-Za-z][A-Za-z0-9_]*)\[(?P<index>\d+)\]", re.ASCII)
_RESOLVE_IS = re.compile(r"where\(resolve\(\) is (?P<type>[A-Z][A-Za-z]+)\)", re.ASCII)
_WHERE_EQUALS = re.compile(
    r"where\((?P<name>[a-z][A-Za-z]*) ?= ?'(?P<value>[^'\\]*)'\)", re.ASCII
)
_TYPE_FUNCTION = re.compile(r"(?:as|ofType)\((?P<type>[A-Za-z]+)\)", re.ASCII)


@dataclass(frozen=True)
class CompiledExpression:
    """An expression ready to run on resources of one type; ``fast`` if not fhirpathpy.

    ``keys``: the resource's top-level elements of which one at least must be present for
    the result to be non-empty (None where that is not known), so callers can skip it.
    """

    expression: str
    resource_type: str
    fast: bool
    evaluate: Evaluate
    keys: frozenset[str] | None = None


class _Unsupported(Exception):
    """The expression is outside the subset compiled here."""


class _NoSuchElement(_Unsupported):
    """The model has no such element on that type, so the path is always empty there."""


def compile_expression(expression: str, resource_type: str) -> CompiledExpression:
    """Compile for resources of ``resource_type``: the fast evaluator, else fhirpathpy."""
    fast = compile_fast(expression, resource_type)
    if fast is not None:
        keys = _top_level_keys(expression, resource_type)
        return CompiledExpression(expression, resource_type, True, fast, keys)
    return CompiledExpression(
        expression, resource_type, False, compile_fhirpathpy(expression, resource_type)
    )


def compile_fast(expression: str, resource_type: str) -> Evaluate | None:
    """The fast evaluator for an expression, or None where it is outside the subset."""
    try:
        terms = [_compile_term(term, resource_type) for term in split_union(expression)]
    except _Unsupported:
        return None
    return _union(terms)


def compile_fhirpathpy(expression: str, resource_type: str) -> Evaluate:
    """The reference evaluator: fhirpathpy with the R4 model and a ``resolve()``.

    fhirpathpy reads ``Resource.x`` only on resources whose type is literally Resource, so
    such roots are renamed to the resource type first.
    """
    rooted = re.sub(
        r"(^|[|(]\s*)(?:Resource|DomainResource)\.", rf"\1{resource_type}.", expression
    )
    options = {
        "returnRawData": True,
        "userInvocationTable": {"resolve": {"fn": _resolve, "arity": {0: []}}},
    }
    path = fhirpathpy.compile(rooted, model=_MODEL, options=options)

    def evaluate(resource: dict[str, Any]) -> list[Typed]:
        return [_typed(node) for node in path(resource, None)]

    return evaluate


def reference_parts(reference: str) -> tuple[str, str] | None:
    """(type, id) of a literal reference ``Type/id``, relative or absolute, else None."""
    match = _REFERENCE.search(reference)
    if match is None:
        return None
    return match["type"], match["id"]


def split_union(expression: str) -> list[str]:
    """Split on the top-level ``|`` operators (outside brackets and string literals)."""
    parts, depth, quoted, start = [], 0, False, 0
    for index, char in enumerate(expression):
        if char == "'":
            quoted = not quoted
        elif quoted:
            continue
        elif char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append(expression[start:index].strip())
            start = index + 1
    parts.append(expression[start:].strip())
    return parts


# -- fhirpathpy fallback ---------------------------------------------------------------


def _resolve(references: list[Any]) -> list[Any]:
    # No store lookups while indexing: a reference resolves to a stub of the type it names,
    # which is all that `resolve() is T` needs.
    stubs = []
    for reference in references:
        target = reference.get("reference") if isinstance(reference, dict) else None
        parts = reference_parts(target) if isinstance(target, str) else None
        if parts is not None:
            stubs.append(ResourceNode.create_node({"resourceType": parts[0]}, parts[0]))
    return stubs


def _typed(node: Any) -> Typed:
    if isinstance(node, ResourceNode):
        return node.path or "", node.data
    if isinstance(node, bool):
        return "boolean", node
    if isinstance(node, str):
        return "string", node
    return "decimal", node


# -- the fast compiler -----------------------------------------------------------------


def _union(terms: list[_Step]) -> Evaluate:
    if len(terms) == 1:
        only = terms[0]

        def evaluate_one(resource: dict[str, Any]) -> list[Typed]:
            out: list[Typed] = []
            only([resource], out)
            return out

        return evaluate_one

    def evaluate(resource: dict[str, Any]) -> list[Typed]:
        out: list[Typed] = []
        for term in terms:
            term([resource], out)
        return out

    return evaluate


def _compile_term(term: str, resource_type: str) -> _Step:
    steps = _parse_term(term)
    root = steps[0]
    if root not in _ABSTRACT_ROOTS and root != resource_type:
        # A path rooted at another type never matches: FHIRPath yields empty.
        return _nothing
    context = "Resource" if root in _ABSTRACT_ROOTS else root
    rest = _compile_steps(steps[1:], context, context, forked=False)
    return _root(root, rest)


def _top_level_keys(expression: str, resource_type: str) -> frozenset[str] | None:
    """The JSON keys of the elements each term starts from (every typed name of a choice)."""
    keys: set[str] = set()
    for term in split_union(expression):
        steps = _parse_term(term)
        if steps[0] not in _ABSTRACT_ROOTS and steps[0] != resource_type:
            continue
        context = "Resource" if steps[0] in _ABSTRACT_ROOTS else steps[0]
        first = steps[1] if len(steps) > 1 else ""
        indexed = _INDEX.fullmatch(first)
        name = indexed["name"] if indexed else first
        if not _IDENTIFIER.fullmatch(name):
            return None
        choices = _CHOICES.get(f"{context}.{name}")
        if choices:
            keys.update(f"{name}{choice}" for choice in choices)
        else:
            keys.add(name)
    return frozenset(keys)


def _parse_term(term: str) -> list[str]:
    """The steps of one union term: root type name, then element names and functions."""
    if term.startswith("("):
        close = _matching_paren(term)
        inner, tail = term[1:close], term[close + 1 :]
        path, _, type_name = inner.rpartition(" as ")
        if not path or not _IDENTIFIER.fullmatch(type_name):
            raise _Unsupported(term)
        if tail and not tail.startswith("."):
            raise _Unsupported(term)
        return [*_parse_path(path), f"as({type_name})", *_split_steps(tail[1:])]
    return _parse_path(term)


def _parse_path(path: str) -> list[str]:
    steps = _split_steps(path)
    if not steps or not _IDENTIFIER.fullmatch(steps[0]) or not steps[0][0].isupper():
        raise _Unsupported(path)
    return steps


def _split_steps(path: str) -> list[str]:
    if not path:
        return []
    steps, depth, quoted, start = [], 0, False, 0
    for index, char in enumerate(path):
        if char == "'":
            quoted = not quoted
        elif quoted:
            continue
        elif char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "." and depth == 0:
            steps.append(path[start:index])
            start = index + 1
    steps.append(path[start:])
    return steps


def _matching_paren(text: str) -> int:
    depth = 0
    for index, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return index
    raise _Unsupported(text)


def _compile_steps(steps: list[str], context: str, type_name: str, *, forked: bool) -> _Step:
    """Compile ``steps`` applied to a collection of ``type_name`` at model path ``context``.

    ``forked`` is set once a choice element split the collection by type: the collection
    functions ([n], first()) would then see only part of it, so they are not compiled.
    """
    if not steps:
        return _emit(type_name)
    step, rest = steps[0], steps[1:]

    if _IDENTIFIER.fullmatch(step):
        return _child(step, rest, context, forked=forked)

    indexed = _INDEX.fullmatch(step)
    if indexed and not forked:
        child = _compile_steps(
            [f"[{indexed['index']}]", *rest],
            *_field_context(context, indexed["name"]),
            forked=False,
        )
        return _field(indexed["name"], child)
    if step.startswith("[") and step.endswith("]") and step[1:-1].isdigit() and not forked:
        return _index(int(step[1:-1]), _compile_steps(rest, context, type_name, forked=forked))
    if step == "first()" and not forked:
        return _index(0, _compile_steps(rest, context, type_name, forked=forked))

    resolve_is = _RESOLVE_IS.fullmatch(step)
    if resolve_is and type_name == "Reference":
        target = resolve_is["type"]
        return _where_reference(target, _compile_steps(rest, context, type_name, forked=forked))

    equals = _WHERE_EQUALS.fullmatch(step)
    if equals and _element_type(context, equals["name"]) in _STRING_TYPES:
        next_step = _compile_steps(rest, context, type_name, forked=forked)
        return _where_equals(equals["name"], equals["value"], next_step)

    type_function = _TYPE_FUNCTION.fullmatch(step)
    if type_function:
        if _is_a(type_name, type_function["type"]):
            return _compile_steps(rest, context, type_name, forked=forked)
        return _nothing

    raise _Unsupported(step)


def _child(name: str, rest: list[str], context: str, *, forked: bool) -> _Step:
    """Navigate to element ``name``; a choice element forks into one branch per type."""
    choices = _CHOICES.get(f"{context}.{name}")
    if choices is None:
        return _field(name, _compile_steps(rest, *_field_context(context, name), forked=forked))

    # `value.as(Quantity)` right after a choice picks that branch alone.
    wanted = _TYPE_FUNCTION.fullmatch(rest[0]) if rest else None
    branches = []
    for choice in choices:
        type_name = _PATH_TYPES.get(f"{context}.{name}{choice}", choice)
        if wanted is not None and not _is_a(type_name, wanted["type"]):
            continue
        try:
            tail = rest[1:] if wanted is not None else rest
            branches.append(
                (f"{name}{choice}", _compile_steps(tail, type_name, type_name, forked=True))
            )
        except _NoSuchElement:
            continue
    return _fork(branches)


def _field_context(context: str, name: str) -> tuple[str, str]:
    """The model path and type name of element ``name`` of ``context``."""
    path = f"{context}.{name}"
    if path in _ELSEWHERE:
        return _ELSEWHERE[path], "BackboneElement"
    if path in _PATH_TYPES:
        type_name = _PATH_TYPES[path]
        return type_name, type_name
    if path in _BACKBONES:
        return path, "BackboneElement"
    raise _NoSuchElement(path)


def _element_type(context: str, name: str) -> str | None:
    return _PATH_TYPES.get(f"{context}.{name}")


def _is_a(type_name: str, wanted: str) -> bool:
    """Whether ``type_name`` is ``wanted`` or derives from it (Age is a Quantity).

    Compared without case on the first letter: choice lists name types ``DateTime`` where
    expressions say ``dateTime``.
    """
    current: str | None = type_name
    while current is not None:
        if current[:1].lower() + current[1:] == wanted[:1].lower() + wanted[1:]:
            return True
        current = _PARENTS.get(current)
    return False


# -- runtime steps ---------------------------------------------------------------------


def _nothing(items: list[Any], out: list[Typed]) -> None:
    return None


def _root(root: str, rest: _Step) -> _Step:
    if root in _ABSTRACT_ROOTS:
        return rest

    def step(items: list[Any], out: list[Typed]) -> None:
        if items[0].get("resourceType") == root:
            rest(items, out)

    return step


def _emit(type_name: str) -> _Step:
    if type_name == "Resource":
        return _emit_resources

    def step(items: list[Any], out: list[Typed]) -> None:
        for item in items:
            out.append((type_name, item))

    return step


def _emit_resources(items: list[Any], out: list[Typed]) -> None:
    # An element of type Resource holds a whole resource: report its own type.
    for item in items:
        out.append((item.get("resourceType", "Resource"), item))


def _field(name: str, rest: _Step) -> _Step:
    def step(items: list[Any], out: list[Typed]) -> None:
        found: list[Any] = []
        for item in items:
            value = item.get(name) if type(item) is dict else None
            if value is None:
                continue
            if type(value) is list:
                found.extend([element for element in value if element is not None])
            else:
                found.append(value)
        if found:
            rest(found, out)

    return step


def _fork(branches: list[tuple[str, _Step]]) -> _Step:
    # An element holds one of its choice keys at most: look its own keys up, not every
    # choice (Extension.value has 50).
    branch_of = dict(branches)

    def step(items: list[Any], out: list[Typed]) -> None:
        found: dict[str, list[Any]] = {}
        for item in items:
            if type(item) is not dict:
                continue
            keys = branch_of if len(item) > len(branch_of) else item
            for key in keys:
                value = item.get(key) if key in branch_of else None
                if value is not None:
                    found.setdefault(key, []).append(value)
        for key, values in found.items():
            branch_of[key](values, out)

    return step


def _index(position: int, rest: _Step) -> _Step:
    def step(items: list[Any], out: list[Typed]) -> None:
        if position < len(items):
            rest([items[position]], out)

    return step


def _where_reference(target_type: str, rest: _Step) -> _Step:
    def step(items: list[Any], out: list[Typed]) -> None:
        kept = []
        for item in items:
            reference = item.get("reference") if type(item) is dict else None
            parts = reference_parts(reference) if type(reference) is str else None
            if parts is not None and parts[0] == target_type:
                kept.append(item)
        if kept:
            rest(kept, out)

    return step


def _where_equals(name: str, value: str, rest: _Step) -> _Step:
    def step(items: list[Any], out: list[Typed]) -> None:
        kept = [item for item in items if type(item) is dict and item.get(name) == value]
        if kept:
            rest(kept, out)

    return step
