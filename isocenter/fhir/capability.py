"""The CapabilityStatement: GET [base]/metadata (R4 http.html#capabilities).

It lists only what this server does: every resource type the registry knows with the
interactions the routes answer, the search parameters the search engine supports (with
their definitions), the includes those parameters allow, and the US Core 3.1.1 profiles
of each type (``data/us-core-profiles.json``).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Any

from starlette.responses import Response

from isocenter.fhir.context import Call, FhirContext
from isocenter.fhir.responses import json_response
from isocenter.outcomes import not_supported
from isocenter.search.definitions import Registry, SearchParameter
from isocenter.store.instants import now_microseconds, to_instant

US_CORE_SERVER = "http://hl7.org/fhir/us/core/CapabilityStatement/us-core-server"
SECURITY_SERVICE = "http://terminology.hl7.org/CodeSystem/restful-security-service"
OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
# The authorization server's endpoints (isocenter.auth), relative to the public base URL;
# SMART App Launch 2.x, conformance: listed here as well as in smart-configuration.
OAUTH_ENDPOINTS = (
    ("authorize", "/auth/authorize"),
    ("token", "/auth/token"),
    ("introspect", "/auth/introspect"),
    ("revoke", "/auth/revoke"),
    ("manage", "/auth/manage"),
)
# Bulk Data Access 2.0 (https://hl7.org/fhir/uv/bulkdata/): the server statement it
# instantiates and the three export operations, by the type they run on (None: system).
BULK_DATA_SERVER = "http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data"
BULK_EXPORT_OPERATIONS = {
    None: "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export",
    "Patient": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export",
    "Group": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export",
}
TYPE_INTERACTIONS = (
    "read", "vread", "update", "delete", "history-instance", "history-type", "create",
    "search-type",
)  # fmt: skip


def metadata(call: Call) -> Response:
    """GET [base]/metadata; ``mode`` full and normative give the same statement."""
    mode = call.param("mode")
    if mode not in (None, "full", "normative"):
        raise not_supported(f"metadata mode {mode!r} is not supported")
    if call.context.capability is None:
        call.context.capability = capability_statement(call.context)
    return json_response(call.context.capability, call.fmt)


@cache
def us_core_profiles() -> dict[str, list[str]]:
    path = resources.files("isocenter.fhir").joinpath("data/us-core-profiles.json")
    profiles: dict[str, list[str]] = json.loads(path.read_text())["profiles"]
    return profiles


def capability_statement(context: FhirContext) -> dict[str, Any]:
    registry = context.registry
    types = sorted(context.resource_types)
    revincludes = _revincludes(registry, types) if context.search is not None else {}
    rest: dict[str, Any] = {
        "mode": "server",
        "security": _security(context.settings.base_url),
        "resource": [_resource(context, name, revincludes.get(name, [])) for name in types],
        "interaction": _system_interactions(context),
    }
    instantiates = [US_CORE_SERVER]
    if context.bulk_export:
        instantiates.append(BULK_DATA_SERVER)
        _add_bulk_operations(rest)
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": to_instant(now_microseconds()),
        "publisher": "Isocenter",
        "kind": "instance",
        "instantiates": instantiates,
        "software": {"name": "Isocenter", "version": _version()},
        "implementation": {
            "description": "Isocenter FHIR server",
            "url": context.fhir_base_url,
        },
        "fhirVersion": "4.0.1",
        "format": ["json", "application/fhir+json"],
        "rest": [rest],
    }


def _add_bulk_operations(rest: dict[str, Any]) -> None:
    """export.html: $export on the system, on Patient and on Group."""
    rest["operation"] = [{"name": "export", "definition": BULK_EXPORT_OPERATIONS[None]}]
    for resource in rest["resource"]:
        definition = BULK_EXPORT_OPERATIONS.get(resource["type"])
        if definition is not None:
            resource["operation"] = [{"name": "export", "definition": definition}]


def _security(base_url: str) -> dict[str, Any]:
    """rest.security: SMART on FHIR, with the authorization server's endpoints."""
    base = base_url.rstrip("/")
    endpoints = [{"url": name, "valueUri": base + path} for name, path in OAUTH_ENDPOINTS]
    return {
        "extension": [{"url": OAUTH_URIS, "extension": endpoints}],
        "cors": True,
        "service": [
            {
                "coding": [{"system": SECURITY_SERVICE, "code": "SMART-on-FHIR"}],
                "text": "OAuth2 using SMART-on-FHIR profile (see http://docs.smarthealthit.org)",
            }
        ],
    }


def _resource(context: FhirContext, name: str, revincludes: list[str]) -> dict[str, Any]:
    interactions = [
        code
        for code in TYPE_INTERACTIONS
        if code != "search-type" or context.search is not None
    ]
    resource: dict[str, Any] = {"type": name}
    profiles = us_core_profiles().get(name)
    if profiles:
        resource["supportedProfile"] = profiles
    resource["interaction"] = [{"code": code} for code in interactions]
    resource.update(
        {
            "versioning": "versioned",
            "readHistory": True,
            "updateCreate": True,
            "conditionalCreate": context.search is not None,
            "conditionalRead": "not-supported",
            "conditionalUpdate": False,
            "conditionalDelete": "not-supported",
        }
    )
    if context.search is None:
        return resource
    parameters = _supported(context.registry, name)
    includes = sorted(f"{name}:{p.code}" for p in parameters if p.type == "reference")
    if includes:
        resource["searchInclude"] = includes
    if revincludes:
        resource["searchRevInclude"] = revincludes
    resource["searchParam"] = [
        {"name": p.code, "definition": p.url, "type": p.type}
        for p in sorted(parameters, key=lambda p: p.code)
    ]
    return resource


def _supported(registry: Registry, resource_type: str) -> list[SearchParameter]:
    return [p for p in registry.parameters(resource_type).values() if p.supported]


def _revincludes(registry: Registry, types: Iterable[str]) -> dict[str, list[str]]:
    """For each type, the Type:param pairs of other types that may point at it."""
    found: dict[str, set[str]] = defaultdict(set)
    for source in types:
        for parameter in _supported(registry, source):
            if parameter.type != "reference":
                continue
            for target in parameter.targets:
                found[target].add(f"{source}:{parameter.code}")
    return {target: sorted(pairs) for target, pairs in found.items()}


def _system_interactions(context: FhirContext) -> list[dict[str, str]]:
    codes = ["history-system"]
    if context.process_bundle is not None:
        codes = ["transaction", "batch", *codes]
    return [{"code": code} for code in codes]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("isocenter")
    except PackageNotFoundError:
        return "0.0.0"
