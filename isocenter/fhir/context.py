"""What a FHIR interaction works with: the server's parts and the request, parsed once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from isocenter.config import Settings
from isocenter.fhir.bodies import check_id
from isocenter.fhir.negotiation import Format
from isocenter.outcomes import not_supported, unknown_type
from isocenter.search.definitions import Registry
from isocenter.search.engine import SearchEngine
from isocenter.store.repository import Store

# (store, search engine, Bundle, fhir_base_url=...) -> response Bundle; the app passes
# isocenter.ingest.bundle.process_bundle (fhir does not import ingest).
BundleProcessor = Callable[..., dict[str, Any]]


@dataclass
class FhirContext:
    """The server's parts, built once by ``isocenter.app.create_app``."""

    settings: Settings
    store: Store
    resource_types: frozenset[str]
    registry: Registry
    search: SearchEngine | None = None
    process_bundle: BundleProcessor | None = None
    # True when the app mounts the Bulk Data export routes (isocenter.bulk).
    bulk_export: bool = False
    # Pre-rendered CapabilityStatement; built on first use.
    capability: dict[str, Any] | None = field(default=None)

    @property
    def fhir_base_url(self) -> str:
        return self.settings.fhir_base_url

    def search_engine(self) -> SearchEngine:
        if self.search is None:
            raise not_supported("search is not available on this server", status=501)
        return self.search


@dataclass
class Call:
    """One FHIR request as the interactions see it (body already read)."""

    request: Request
    context: FhirContext
    fmt: Format
    params: list[tuple[str, str]]
    body: bytes = b""

    def path(self, name: str) -> str:
        value: str = self.request.path_params[name]
        return value

    def param(self, name: str) -> str | None:
        for key, value in self.params:
            if key == name:
                return value
        return None

    def header(self, name: str) -> str | None:
        return self.request.headers.get(name)

    def resource_type(self) -> str:
        """The URL's resource type, or 404 when the server does not know it."""
        resource_type = self.path("type")
        if resource_type not in self.context.resource_types:
            raise unknown_type(resource_type)
        return resource_type

    def id(self) -> str:
        """The URL's logical id; ``$name`` there is an operation, which none is yet."""
        id = self.path("id")
        if id.startswith("$"):
            raise not_supported(f"operation {id} is not supported on this server")
        return check_id(id)

    def prefer(self, name: str) -> str | None:
        """A token of the Prefer header (RFC 7240), e.g. ``return`` or ``handling``."""
        for part in (self.header("prefer") or "").split(","):
            key, _, value = part.strip().partition("=")
            if key.strip().lower() == name:
                return value.strip().strip('"').lower()
        return None

    @property
    def lenient(self) -> bool:
        """``Prefer: handling=lenient`` (search.html#errors)."""
        return self.prefer("handling") == "lenient"
