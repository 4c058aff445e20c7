"""Patient compartment membership of a resource (R4 compartmentdefinition-patient.html).

A resource is in the compartment of each Patient that one of its type's compartment
params refers to (CompartmentDefinition-patient lists them per resource type, e.g.
Observation: ``subject``, ``performer``). A Patient is in its own compartment, and through
``link`` in the compartments of the Patients it links to.

Only references that point at this server count: relative ones, and absolute ones under the
server's FHIR base URL when that is known. A reference to another server's Patient/123 says
nothing about our Patient/123.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from isocenter.store.index_rows import Row


def patient_compartments(
    resource: dict[str, Any],
    reference_rows: Iterable[Row],
    compartment_params: frozenset[str],
    fhir_base_url: str | None = None,
) -> set[str]:
    """Ids of the Patients whose compartment holds ``resource``."""
    patients = set()
    if resource.get("resourceType") == "Patient" and isinstance(resource.get("id"), str):
        patients.add(resource["id"])
    if not compartment_params:
        return patients

    local_prefix = None if fhir_base_url is None else fhir_base_url.rstrip("/") + "/"
    for row in reference_rows:
        if row["param"] not in compartment_params or row["target_type"] != "Patient":
            continue
        url = row["url"]
        if url is None or (local_prefix is not None and url.startswith(local_prefix)):
            patients.add(row["target_id"])
    return patients
