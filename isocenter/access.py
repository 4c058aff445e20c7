"""What one request may do: the permissions a token grants and the patient it is limited to.

This module sits below both ``fhir`` and ``auth``: the auth guard builds an ``Access`` from a
verified token and puts it on ``request.state.access``; the FHIR layer reads it and never
imports ``auth``. Scope semantics follow SMART App Launch 2.x, "Scopes and launch context"
(https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html).
"""

from __future__ import annotations

from dataclasses import dataclass

# SMART v2 interactions: create, read, update, delete, search.
INTERACTIONS = frozenset("cruds")
WRITE_INTERACTIONS = frozenset("cud")

Restriction = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Permission:
    """One resource scope: ``patient/Observation.rs?category=laboratory`` and the like."""

    context: str  # "patient" | "user" | "system"
    resource_type: str  # a resource type or "*"
    interactions: frozenset[str]  # a subset of INTERACTIONS
    query: Restriction = ()  # a v2 query restriction, e.g. (("category", "laboratory"),)

    def covers(self, resource_type: str, interaction: str) -> bool:
        return self.resource_type in ("*", resource_type) and interaction in self.interactions


@dataclass(frozen=True)
class Access:
    """The verified grant behind one request."""

    client_id: str | None
    username: str | None
    fhir_user: str | None  # "Patient/123" or "Practitioner/9"
    patient: str | None  # the compartment this access is limited to, or None
    permissions: tuple[Permission, ...]
    scope: str  # the granted scope string
    jti: str | None = None

    @property
    def is_patient_limited(self) -> bool:
        return self.patient is not None

    def allows(self, resource_type: str, interaction: str) -> bool:
        """True when some permission covers the interaction (restricted or not).

        Writes are never allowed to patient-limited access: SMART lets apps read a
        patient's record; changing it goes through a clinician's own access.
        """
        if interaction in WRITE_INTERACTIONS and self.is_patient_limited:
            return False
        return any(p.covers(resource_type, interaction) for p in self.permissions)

    def restrictions(self, resource_type: str, interaction: str) -> list[Restriction]:
        """Query restrictions to apply, OR-ed; ``[]`` when one permission has none.

        Call only after ``allows`` said yes: ``[]`` means "unrestricted", not "refused".
        """
        covering = [p for p in self.permissions if p.covers(resource_type, interaction)]
        if any(not p.query for p in covering):
            return []
        return [p.query for p in covering]


FULL_ACCESS = Access(
    client_id=None,
    username=None,
    fhir_user=None,
    patient=None,
    permissions=(Permission("system", "*", INTERACTIONS),),
    scope="system/*.cruds",
)
"""Everything, unlimited: used only when the app is built without the auth guard."""
