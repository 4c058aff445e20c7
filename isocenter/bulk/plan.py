"""What an export job will write, resolved once at kick-off and stored with the job.

Everything a worker needs is here, as plain JSON: the resource types (already limited to
what the token may read), each type's ``_typeFilter`` queries and scope restrictions as
search parameter lists, the patients of a Patient or Group export, and the notes of
parameters ignored under ``Prefer: handling=lenient`` (written to the error file).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

Query = list[tuple[str, str]]


@dataclass
class ExportPlan:
    kind: str  # "system" | "patient" | "group"
    types: list[str]
    group_id: str | None = None
    # None: every Patient compartment (a Patient export); a list: only these Patients.
    patients: list[str] | None = None
    since: int | None = None  # µs; only resources updated after it
    until: int | None = None  # µs; only resources updated at or before it
    elements: list[str] | None = None
    # Per type, search queries OR-ed together: `_typeFilter` and scope query restrictions.
    type_filters: dict[str, list[Query]] = field(default_factory=dict)
    restrictions: dict[str, list[Query]] = field(default_factory=dict)
    # includeAssociatedData=_sharedResources: the shared resources the compartments use.
    include_shared: bool = False
    issues: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> ExportPlan:
        data = json.loads(text)
        for name in ("type_filters", "restrictions"):
            data[name] = {
                resource_type: [[tuple(pair) for pair in query] for query in queries]
                for resource_type, queries in data[name].items()
            }
        return cls(**data)

    @property
    def compartment_limited(self) -> bool:
        return self.kind != "system"
