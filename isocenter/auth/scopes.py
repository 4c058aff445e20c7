"""SMART scopes: parsing v1 and v2 forms, what an app may be granted, and narrowing.

SMART App Launch 2.x, "Scopes and launch context"
(https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html): a resource scope is
``context/Type.permissions[?query]``. v1 permissions are ``read`` (= ``rs``), ``write``
(= ``cud``) and ``*`` (= ``cruds``); v2 permissions are an ordered subset of ``cruds``,
optionally restricted by a search query such as ``?category=laboratory``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from urllib.parse import parse_qsl, quote

from isocenter.access import INTERACTIONS, Permission, Restriction

CONTEXTS = ("patient", "user", "system")
# Scopes with a fixed meaning that are not about resources.
SPECIAL_SCOPES = frozenset(
    {
        "openid",
        "fhirUser",
        "profile",
        "launch",
        "launch/patient",
        "launch/encounter",
        "offline_access",
        "online_access",
    }
)
V1_PERMISSIONS = {"read": frozenset("rs"), "write": frozenset("cud"), "*": INTERACTIONS}
V1_NAMES = {interactions: name for name, interactions in V1_PERMISSIONS.items()}

_RESOURCE_SCOPE = re.compile(
    r"^(?:(?P<context>[A-Za-z]+)/)?(?P<type>\*|[A-Z][A-Za-z]*)\.(?P<permissions>[^?]+)"
    r"(?:\?(?P<query>.*))?$"
)
_V2_PERMISSIONS = re.compile(r"^c?r?u?d?s?$")


class ScopeError(ValueError):
    """A scope that looks like a resource scope but breaks its grammar."""


@dataclass(frozen=True)
class Scope:
    """One scope; the resource fields are set only for resource scopes."""

    text: str
    context: str | None = None
    resource_type: str | None = None
    interactions: frozenset[str] = frozenset()
    query: Restriction = ()
    version: int = 0  # 1 or 2 for resource scopes

    @property
    def is_resource(self) -> bool:
        return self.resource_type is not None

    def permission(self) -> Permission:
        assert self.context is not None and self.resource_type is not None
        return Permission(self.context, self.resource_type, self.interactions, self.query)

    def covers(self, other: Scope) -> bool:
        """True when granting ``self`` grants at least everything ``other`` asks for."""
        if not (self.is_resource and other.is_resource):
            return self.text == other.text
        return (
            self.context == other.context
            and self.resource_type in ("*", other.resource_type)
            and other.interactions <= self.interactions
            and set(self.query) <= set(other.query)
        )

    def for_type(self, resource_type: str) -> Scope:
        """This scope for one resource type: how a wildcard is expanded."""
        return render(replace(self, resource_type=resource_type))


def parse_scope(text: str) -> list[Scope]:
    """The scopes in a space-separated scope string (RFC 6749 §3.3), in order, deduplicated.

    Raises ``ScopeError`` for a malformed resource scope (an unordered v2 permission
    string, a query on a v1 scope, an unknown context).
    """
    seen: dict[str, Scope] = {}
    for token in text.split():
        if token not in seen:
            seen[token] = parse_one(token)
    return list(seen.values())


def parse_one(token: str) -> Scope:
    if token in SPECIAL_SCOPES:
        return Scope(token)
    match = _RESOURCE_SCOPE.match(token)
    if match is None:
        if "/" in token and not token.startswith("launch/"):
            raise ScopeError(f"malformed scope {token!r}")
        return Scope(token)  # another scope, granted only if the app registered it
    # SMART v1 apps sometimes ask for "*.*" or "Type.read" without a context; older
    # servers read that as the signed-in user's access, and so do we.
    context = match["context"] or "user"
    if context not in CONTEXTS:
        raise ScopeError(f"scope {token!r}: context must be patient, user or system")
    permissions, query = match["permissions"], match["query"]
    if permissions in V1_PERMISSIONS:
        if query is not None:
            raise ScopeError(f"scope {token!r}: query restrictions need v2 permissions")
        interactions, version = V1_PERMISSIONS[permissions], 1
    elif _V2_PERMISSIONS.match(permissions):
        interactions, version = frozenset(permissions), 2
    else:
        raise ScopeError(
            f"scope {token!r}: permissions must be read, write, * or cruds letters in order"
        )
    return Scope(token, context, match["type"], interactions, _query(token, query), version)


def _query(token: str, query: str | None) -> Restriction:
    if query is None:
        return ()
    try:
        pairs = parse_qsl(query, keep_blank_values=False, strict_parsing=True)
    except ValueError as exc:
        raise ScopeError(f"scope {token!r}: malformed query restriction") from exc
    return tuple(sorted(pairs))


def render(scope: Scope) -> Scope:
    """``scope`` with its text rebuilt from its fields (v1 form kept where possible)."""
    if not scope.is_resource:
        return scope
    if scope.version == 1 and scope.interactions in V1_NAMES and not scope.query:
        permissions = V1_NAMES[scope.interactions]
    else:
        permissions = "".join(letter for letter in "cruds" if letter in scope.interactions)
    text = f"{scope.context}/{scope.resource_type}.{permissions}"
    if scope.query:
        text += "?" + "&".join(
            f"{quote(k, safe='')}={quote(v, safe=':/|,.')}" for k, v in scope.query
        )
    return replace(scope, text=text)


def grantable(requested: str, registered: str) -> str:
    """The granted scope string: each requested scope that the app's registered scopes cover.

    SMART 2.x lets a server grant less than was asked; the granted set is returned to the
    app in ``scope``. Raises ``ScopeError`` for a malformed requested scope, which
    RFC 6749 §4.1.2.1 answers with ``invalid_scope``.
    """
    allowed = parse_scope(registered)
    granted = [
        scope for scope in parse_scope(requested) if any(mine.covers(scope) for mine in allowed)
    ]
    return " ".join(scope.text for scope in granted)


def permissions(scope_text: str) -> tuple[Permission, ...]:
    """The resource permissions a granted scope string carries."""
    return tuple(scope.permission() for scope in parse_scope(scope_text) if scope.is_resource)


def resource_types_named(scope_text: str) -> list[str]:
    """Resource types the resource scopes name, sorted, ``*`` first when a wildcard is asked."""
    named = {scope.resource_type for scope in parse_scope(scope_text) if scope.resource_type}
    return sorted(named, key=lambda name: (name != "*", name))


def narrow(scope_text: str, removed_types: Iterable[str], all_types: Iterable[str]) -> str:
    """The scope left after the user unticks ``removed_types`` on the consent page.

    Wildcard scopes expand into one scope per type of ``all_types`` not removed, so an app
    granted ``patient/*.rs`` without Observation gets every other type explicitly.
    """
    removed = set(removed_types)
    if not removed:
        return scope_text
    kept: list[Scope] = []
    for scope in parse_scope(scope_text):
        if scope.resource_type == "*":
            kept.extend(
                scope.for_type(name) for name in sorted(all_types) if name not in removed
            )
        elif scope.resource_type not in removed:
            kept.append(scope)
    return " ".join(dict.fromkeys(scope.text for scope in kept))
