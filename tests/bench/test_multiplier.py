"""The benchmark's data multiplier: copies with new, consistent, resolvable ids."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from bench.multiplier import (
    SourceBundle,
    copies_needed,
    copy_id,
    copy_text,
    read_sources,
    unique_resources,
    write_copies,
)
from tests.conftest import SHARED_DATA

URN = "urn:uuid:"


@pytest.fixture(scope="module")
def sources() -> list[SourceBundle]:
    return read_sources(SHARED_DATA)


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _copied(source: SourceBundle, copy: int) -> dict:
    copied: dict = orjson.loads(copy_text(source.text, copy))
    return copied


def test_the_28_synthea_transaction_bundles_are_the_source(sources: list[SourceBundle]) -> None:
    assert len(sources) == 28
    assert all(source.bundle["type"] == "transaction" for source in sources)


def test_every_resource_id_and_full_url_is_derived_from_the_copy_and_original_id(
    sources: list[SourceBundle],
) -> None:
    for source in sources:
        copied = _copied(source, 7)
        pairs = zip(source.bundle["entry"], copied["entry"], strict=True)
        for original, new in pairs:
            expected = copy_id(7, original["resource"]["id"])
            assert new["resource"]["id"] == expected
            assert new["fullUrl"] == URN + expected


def test_every_urn_uuid_reference_resolves_within_its_copy(
    sources: list[SourceBundle],
) -> None:
    for source in sources:
        copied = _copied(source, 3)
        full_urls = {entry["fullUrl"] for entry in copied["entry"]}
        references = [s for s in _strings(copied) if s.startswith(URN)]
        assert references
        assert set(references) <= full_urls, source.name


def test_no_original_uuid_is_left_in_a_copy(sources: list[SourceBundle]) -> None:
    for source in sources[:4]:
        copied_text = copy_text(source.text, 0)
        for original, _new in zip(
            source.bundle["entry"], _copied(source, 0)["entry"], strict=True
        ):
            assert original["resource"]["id"] not in copied_text


def test_copies_share_no_resource_id(sources: list[SourceBundle]) -> None:
    source = sources[0]
    first = {entry["resource"]["id"] for entry in _copied(source, 0)["entry"]}
    second = {entry["resource"]["id"] for entry in _copied(source, 1)["entry"]}
    assert not first & second


def test_a_resource_shared_by_two_bundles_keeps_one_id_within_a_copy(
    sources: list[SourceBundle],
) -> None:
    owners: dict[tuple[str, str], list[SourceBundle]] = {}
    for source in sources:
        for key in source.resource_keys:
            owners.setdefault(key, []).append(source)
    (resource_type, original_id), (one, two) = next(
        (key, found[:2]) for key, found in owners.items() if len(found) > 1
    )
    ids_one = {e["resource"]["id"] for e in _copied(one, 5)["entry"]}
    ids_two = {e["resource"]["id"] for e in _copied(two, 5)["entry"]}
    assert copy_id(5, original_id) in ids_one & ids_two, resource_type


def test_copying_is_deterministic(sources: list[SourceBundle]) -> None:
    assert copy_text(sources[1].text, 11) == copy_text(sources[1].text, 11)


def test_enough_copies_are_made_for_the_target(sources: list[SourceBundle]) -> None:
    per_copy = unique_resources(sources)
    assert per_copy == 8114
    copies = copies_needed(250_000, per_copy)
    assert copies * per_copy >= 250_000
    assert (copies - 1) * per_copy < 250_000


def test_written_copies_are_one_folder_per_copy(
    sources: list[SourceBundle], tmp_path: Path
) -> None:
    written = list(write_copies(sources[:2], 2, tmp_path))
    assert [p.relative_to(tmp_path).parts[0] for p in written] == ["copy-000"] * 2 + [
        "copy-001"
    ] * 2
    assert orjson.loads(written[2].read_bytes()) == _copied(sources[0], 1)
