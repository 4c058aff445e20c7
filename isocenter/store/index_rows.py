"""What the indexer hands the store for one resource: rows for each index table.

This is the contract between ``search`` (which evaluates search parameter expressions)
and ``store`` (which writes the rows). The store never interprets resources itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Each row is a dict of the index table's value columns plus "param".
Row = dict[str, Any]


@dataclass
class IndexRows:
    token: list[Row] = field(default_factory=list)
    string: list[Row] = field(default_factory=list)
    date: list[Row] = field(default_factory=list)
    reference: list[Row] = field(default_factory=list)
    quantity: list[Row] = field(default_factory=list)
    number: list[Row] = field(default_factory=list)
    uri: list[Row] = field(default_factory=list)
    # Ids of the Patients whose compartment holds the resource.
    patients: set[str] = field(default_factory=set)

    def by_kind(self) -> dict[str, list[Row]]:
        return {
            "token": self.token,
            "string": self.string,
            "date": self.date,
            "reference": self.reference,
            "quantity": self.quantity,
            "number": self.number,
            "uri": self.uri,
        }


# Given a resource (parsed JSON), return the rows to index it by.
Indexer = Callable[[dict[str, Any]], IndexRows]


def no_index(resource: dict[str, Any]) -> IndexRows:
    """An indexer that indexes nothing (for tests of the store alone)."""
    return IndexRows()
