"""Copies of the Synthea transaction bundles with new ids, to make loads of any size.

Copy ``n`` of a bundle is the bundle with every UUID in it replaced by
``uuid5(COPY_NAMESPACE, f"{n}/{uuid}")``. Synthea bundles (shared data README 1a, 1b) use
UUIDs for every resource id, every ``urn:uuid:`` fullUrl and every reference, so one
substitution rewrites them all consistently; business identifiers that carry a UUID
(the Synthea Patient identifier, Organization identifiers) move with them, so each copy is
a distinct population whose ``identifier`` searches do not collide with another copy's.
The same original id maps to the same new id within a copy, so an Organization or
Practitioner shared by several bundles stays shared inside each copy, as in the original.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

# Fixed so that copy n of a resource has the same id on every run and every machine.
COPY_NAMESPACE = uuid.UUID("7d1c7a52-3f0e-4b8e-9a43-6a8f1f0b6c11")

SOURCE_FOLDERS = ("synthea/bulk-data-server", "synthea/generated-sample-data")

_UUID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)


@dataclass(frozen=True)
class SourceBundle:
    """One original transaction bundle, kept as compact JSON text."""

    name: str
    text: str
    bundle: dict

    @property
    def resource_keys(self) -> set[tuple[str, str]]:
        return {
            (entry["resource"]["resourceType"], entry["resource"]["id"])
            for entry in self.bundle["entry"]
        }


def copy_id(copy: int, original: str) -> str:
    """The id that ``original`` has in copy number ``copy``."""
    return str(uuid.uuid5(COPY_NAMESPACE, f"{copy}/{original.lower()}"))


def copy_text(text: str, copy: int) -> str:
    """The JSON text of ``text`` with every UUID replaced by its id in ``copy``."""
    seen: dict[str, str] = {}

    def replace(match: re.Match[str]) -> str:
        original = match.group(0)
        new = seen.get(original)
        if new is None:
            new = seen[original] = copy_id(copy, original)
        return new

    return _UUID.sub(replace, text)


def read_sources(shared_data: Path) -> list[SourceBundle]:
    """The Synthea transaction bundles, in a fixed order, checked to use UUID ids only."""
    sources = []
    for folder in SOURCE_FOLDERS:
        for path in sorted((shared_data / folder).glob("*.json")):
            bundle = orjson.loads(path.read_bytes())
            _check_uuid_ids(path.name, bundle)
            text = orjson.dumps(bundle).decode()
            sources.append(SourceBundle(path.name, text, bundle))
    if not sources:
        raise FileNotFoundError(f"no Synthea bundles under {shared_data}")
    return sources


def _check_uuid_ids(name: str, bundle: dict) -> None:
    # The substitution only reaches ids that look like UUIDs; anything else would be
    # loaded twice under the same id, so refuse such input instead of miscounting.
    for index, entry in enumerate(bundle.get("entry", [])):
        resource_id = entry.get("resource", {}).get("id", "")
        if not _UUID.fullmatch(resource_id):
            raise ValueError(f"{name}: Bundle.entry[{index}] id {resource_id!r} is no UUID")


def unique_resources(sources: list[SourceBundle]) -> int:
    """Distinct (type, id) pairs in one copy (bundles share some Organizations)."""
    keys: set[tuple[str, str]] = set()
    for source in sources:
        keys |= source.resource_keys
    return len(keys)


def copies_needed(target_resources: int, per_copy: int) -> int:
    return max(1, math.ceil(target_resources / per_copy))


def copy_folder_name(copy: int) -> str:
    return f"copy-{copy:03d}"


def write_copies(
    sources: list[SourceBundle], copies: int, out: Path, *, first: int = 0
) -> Iterator[Path]:
    """Write copies ``first`` .. ``copies - 1`` of every source bundle under ``out``."""
    for copy in range(first, copies):
        folder = out / copy_folder_name(copy)
        folder.mkdir(parents=True, exist_ok=True)
        for source in sources:
            path = folder / source.name
            path.write_text(copy_text(source.text, copy), encoding="utf-8")
            yield path
