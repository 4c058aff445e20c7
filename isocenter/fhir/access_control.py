"""Access control on every FHIR interaction: each decision made here, once.

The guard puts an ``Access`` on the request (an app built without it puts
``FULL_ACCESS``). Every interaction first calls ``require`` with the SMART v2
interaction it performs (scopes-and-launch-context.html#scopes-for-requesting-fhir-
resources): ``r`` for read, vread and instance history; ``s`` for search and for type and
system history, as that table lists them; ``c``, ``u``, ``d`` for create, update (also
update-as-create) and delete. A type the scopes do not cover answers 403, so a type the
user took away at consent is refused rather than shown empty.

What a limited access may see is decided by ``readable`` (one resource, for every route
that shows one) and by the search engine (``compartment``, ``restrictions``). A
patient-limited access sees its Patient's compartment plus the Practitioner,
PractitionerRole, Organization, Location and Medication resources that compartment refers
to; anything else answers 404, so that ids do not leak. Unlimited access is decided in
memory; a limited one costs one indexed query per resource shown by id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Select

from isocenter.access import WRITE_INTERACTIONS, Access, Restriction
from isocenter.fhir.audit import note
from isocenter.fhir.context import Call
from isocenter.outcomes import forbidden, not_found
from isocenter.search.engine import SearchEngine
from isocenter.store.repository import StoredResource

_ACTIONS = {"r": "read", "s": "search", "c": "create", "u": "update", "d": "delete"}


def access_of(call: Call) -> Access:
    """The request's ``Access``; a request that passed no guard is refused, never opened."""
    access = getattr(call.request.state, "access", None)
    if not isinstance(access, Access):
        raise forbidden("no access decision was made for this request")
    return access


def require(
    call: Call,
    resource_type: str | None,
    interaction: str,
    id: str | None = None,
    *,
    action: str | None = None,
    params: list[tuple[str, str]] | None = None,
) -> Access:
    """The access, once it may perform ``interaction`` on ``resource_type``; else 403.

    The interaction is noted for the audit trail first, so that refusals are recorded.
    """
    access = access_of(call)
    names = call.params if params is None else params
    note(call.request.state, action or _ACTIONS[interaction], resource_type, id, names)
    if resource_type is not None:
        check_allowed(access, resource_type, interaction)
    return access


def check_allowed(access: Access, resource_type: str, interaction: str) -> None:
    """403 unless the scopes grant ``interaction`` on the type without a write restriction."""
    if interaction in WRITE_INTERACTIONS and access.is_patient_limited:
        raise forbidden(f"patient-limited access may not write: {resource_type} is read-only")
    if not access.allows(resource_type, interaction):
        raise forbidden(
            f"the granted scopes do not allow {_ACTIONS[interaction]} on {resource_type}"
        )
    if interaction in WRITE_INTERACTIONS and access.restrictions(resource_type, interaction):
        # Checking a written resource against a query restriction is not implemented;
        # refusing is the safe answer.
        raise forbidden(
            f"write scopes with a query restriction are not supported ({resource_type})"
        )


def is_unlimited(access: Access, resource_type: str, interaction: str) -> bool:
    """No compartment and no query restriction: decided without the database."""
    return access.patient is None and not access.restrictions(resource_type, interaction)


def readable(access: Access, stored: StoredResource, search: SearchEngine) -> bool:
    """May this access see this resource (any of its versions)? Every route asks this."""
    resource_type = stored.resource_type
    if not access.allows(resource_type, "r"):
        return False
    if is_unlimited(access, resource_type, "r"):
        return True
    shown = search.visible_ids(
        resource_type,
        [stored.id],
        compartment=access.patient,
        restrictions=access.restrictions(resource_type, "r"),
    )
    return stored.id in shown


def check_readable(
    call: Call, access: Access, stored: StoredResource | None, resource_type: str, id: str
) -> StoredResource:
    """The resource, or 404 when it does not exist or this access may not see it."""
    if stored is None or not readable(access, stored, call.context.search_engine()):
        raise not_found(resource_type, id)
    return stored


def search_limits(access: Access, resource_type: str) -> dict[str, Any]:
    """Keyword arguments that narrow ``SearchEngine.search`` to what the access may see."""
    return {
        "compartment": access.patient,
        "shared": True,
        "restrictions": access.restrictions(resource_type, "s"),
        "searchable": searchable(access),
    }


def searchable(access: Access) -> Callable[[str], bool]:
    def allowed(resource_type: str) -> bool:
        return access.allows(resource_type, "s")

    return allowed


def visible_included(
    access: Access, rows: Sequence[StoredResource], search: SearchEngine
) -> list[StoredResource]:
    """Included resources the access may read; the engine already kept the compartment.

    Types the scopes do not let it read are dropped, and of types with query
    restrictions only the resources that meet one are kept.
    """
    by_type: dict[str, list[str]] = {}
    for stored in rows:
        if access.allows(stored.resource_type, "r"):
            by_type.setdefault(stored.resource_type, []).append(stored.id)
    kept: set[tuple[str, str]] = set()
    for resource_type, ids in by_type.items():
        restrictions = access.restrictions(resource_type, "r")
        if restrictions:
            ids = sorted(
                search.visible_ids(
                    resource_type, ids, compartment=access.patient, restrictions=restrictions
                )
            )
        kept.update((resource_type, id) for id in ids)
    return [stored for stored in rows if (stored.resource_type, stored.id) in kept]


def history_keys(
    access: Access, resource_types: Iterable[str], search: SearchEngine, *, system: bool
) -> Select[Any] | None:
    """Keys of the resources whose history the access may see; None for all of them.

    ``system``: the history of every type (only the types the scopes allow are kept).
    """
    types = [t for t in resource_types if access.allows(t, "s")]
    if not types:
        raise forbidden("the granted scopes allow no history of these resource types")
    restrictions: dict[str, Sequence[Restriction]] = {
        t: access.restrictions(t, "s") for t in types
    }
    every_type = not system or _covers_every_type(access)
    if access.patient is None and every_type and not any(restrictions.values()):
        return None
    return search.visible_keys(restrictions, compartment=access.patient)


def _covers_every_type(access: Access) -> bool:
    return any(p.resource_type == "*" and "s" in p.interactions for p in access.permissions)
