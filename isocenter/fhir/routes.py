"""The FHIR route table, read like the spec's list of interactions (R4 http.html#summary).

Each path maps HTTP methods to an interaction; a method the path does not take gets 405
with Allow. Interactions are plain functions of a ``Call``; the dispatcher negotiates the
format, reads the body, and runs the interaction in the thread pool (they use the
blocking store). Read by id runs on the event loop instead: it is one indexed lookup
on a connection that never waits for a lock (see ``Store.read``), and the hop to a
worker thread cost several times the lookup itself (measured: ~35 us for the lookup,
~300 us for the hop). The CapabilityStatement, once built, is a cached dict.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from isocenter.fhir import capability, history, interactions, searchset, transaction
from isocenter.fhir.context import Call, FhirContext
from isocenter.fhir.negotiation import negotiate

Interaction = Callable[[Call], Response]


class ResourceTypeConvertor(Convertor[str]):
    """A path segment that can be a resource type: these start with a capital letter, so
    ``metadata``, ``_history`` and operations never match a type route."""

    regex = "[A-Z][A-Za-z]*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


class LogicalIdConvertor(Convertor[str]):
    """A path segment that can be an id: not ``_history``, ``_search`` or another
    ``_``-name (malformed ids still match, to be refused with 400 by the interaction)."""

    regex = "[^/_][^/]*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("resource_type", ResourceTypeConvertor())
register_url_convertor("logical_id", LogicalIdConvertor())

_WITH_BODY = {"POST", "PUT"}
_INLINE = {interactions.read, capability.metadata}


def _endpoint(methods: dict[str, Interaction]) -> Callable[[Request], object]:
    async def endpoint(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        interaction = methods[method]
        params = request.query_params.multi_items() if request.scope["query_string"] else []
        fmt = negotiate(
            request.headers.get("accept"), _first(params, "_format"), _first(params, "_pretty")
        )
        body = await request.body() if method in _WITH_BODY else b""
        context: FhirContext = request.app.state.fhir
        call = Call(request, context, fmt, params, body)
        if interaction in _INLINE:
            return interaction(call)
        return await run_in_threadpool(interaction, call)

    return endpoint


def _first(params: list[tuple[str, str]], name: str) -> str | None:
    for key, value in params:
        if key == name:
            return value
    return None


def route(path: str, **methods: Interaction) -> Route:
    return Route(path, _endpoint(methods), methods=list(methods))


def fhir_routes(prefix: str = "/fhir") -> list[BaseRoute]:
    """The interactions of http.html#summary; read first, as it is the most frequent."""
    instance = f"{prefix}/{{type:resource_type}}/{{id:logical_id}}"
    return [
        route(
            instance,
            GET=interactions.read,
            PUT=interactions.update,
            DELETE=interactions.delete,
        ),
        route(f"{instance}/_history/{{vid}}", GET=interactions.vread),
        route(f"{instance}/_history", GET=history.instance_history),
        route(
            f"{prefix}/{{type:resource_type}}",
            GET=searchset.search_type,
            POST=interactions.create,
        ),
        route(f"{prefix}/{{type:resource_type}}/_search", POST=searchset.search_type_post),
        route(f"{prefix}/{{type:resource_type}}/_history", GET=history.type_history),
        route(f"{prefix}/metadata", GET=capability.metadata),
        route(f"{prefix}/_history", GET=history.system_history),
        route(prefix, POST=transaction.transaction),
        route(f"{prefix}/", POST=transaction.transaction),
    ]
