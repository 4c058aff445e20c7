"""The store: read, version-read, history and transactional writes of resources.

Everything above this module (FHIR HTTP, search, ingest) goes through ``Store``; it
alone knows the table layout. Index rows come from an injected ``Indexer`` so that the
store never interprets a resource's content.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import uuid
import weakref
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import (
    Connection,
    Dialect,
    Engine,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
    tuple_,
    union_all,
)
from sqlalchemy import update as sql_update

from isocenter.store import schema
from isocenter.store.engine import READ_ONLY
from isocenter.store.index_rows import Indexer, IndexRows, no_index
from isocenter.store.instants import now_microseconds, to_instant

_CHUNK = 500


class VersionConflict(Exception):
    """The version a writer expected is not the current one (If-Match failed)."""

    def __init__(self, resource_type: str, id: str, expected: int, current: int | None):
        super().__init__(f"{resource_type}/{id} is at version {current}, not {expected}")
        self.resource_type = resource_type
        self.id = id
        self.expected = expected
        self.current = current


@dataclass(frozen=True, slots=True)
class StoredResource:
    resource_type: str
    id: str
    version_id: int
    last_updated: int
    deleted: bool
    content: str | None

    @property
    def last_updated_instant(self) -> str:
        return to_instant(self.last_updated)

    def parsed(self) -> dict[str, Any]:
        if self.content is None:
            raise ValueError(f"{self.resource_type}/{self.id} has no content (deleted)")
        parsed: dict[str, Any] = orjson.loads(self.content)
        return parsed


@dataclass(frozen=True, slots=True)
class HistoryCursor:
    """Where a history page ended: the last entry's (lastUpdated, type, id, version)."""

    last_updated: int
    resource_type: str
    id: str
    version_id: int


_COLUMNS = ("resource_type", "id", "version_id", "last_updated", "deleted", "content")


_RES_KEY_SEQUENCE = "resource_res_key_seq"

# Built once: statement construction cost more than the indexed lookup itself.
_EXISTING = select(
    schema.resource.c.id, schema.resource.c.res_key, schema.resource.c.version_id
).where(
    schema.resource.c.resource_type == bindparam("resource_type"),
    schema.resource.c.id.in_(bindparam("ids", expanding=True)),
)


def _stored(row: Any) -> StoredResource:
    return StoredResource(
        row.resource_type,
        row.id,
        row.version_id,
        row.last_updated,
        bool(row.deleted),
        row.content,
    )


class Store:
    """Resources and their history in one SQL database."""

    def __init__(self, engine: Engine, indexer: Indexer = no_index) -> None:
        self.engine = engine
        self.indexer = indexer
        self._read_sql: tuple[str, bool] | None = None
        self._reader = _ReaderConnection()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def read(self, resource_type: str, id: str) -> StoredResource | None:
        # The hot path of the FHIR API: one statement, compiled once, run on a DBAPI
        # connection of this event loop's own (see _ReaderConnection).
        if self._read_sql is None:
            self._read_sql = _compiled_read(self.engine)
        sql, positional = self._read_sql
        params: Any = (resource_type, id) if positional else {"t": resource_type, "i": id}
        reader = self._reader.get(self.engine) if _on_event_loop() else None
        if reader is None:
            with self.reading() as conn:
                return read_current(conn, resource_type, id)
        row = reader.fetch_one(sql, params)
        return StoredResource(*row[:4], bool(row[4]), row[5]) if row else None

    def vread(self, resource_type: str, id: str, version_id: int) -> StoredResource | None:
        with self.reading() as conn:
            current = read_current(conn, resource_type, id)
            if current is None or current.version_id == version_id:
                return current if current else None
            row = conn.execute(
                select(*[schema.resource_history.c[name] for name in _COLUMNS]).where(
                    schema.resource_history.c.resource_type == resource_type,
                    schema.resource_history.c.id == id,
                    schema.resource_history.c.version_id == version_id,
                )
            ).first()
            return _stored(row) if row else None

    def history(
        self,
        resource_type: str | None = None,
        id: str | None = None,
        *,
        since: int | None = None,
        at: int | None = None,
        before: HistoryCursor | None = None,
        res_keys: Any = None,
        limit: int = 50,
    ) -> list[StoredResource]:
        """Versions newest first, for an instance, a type or the whole system.

        ``res_keys`` is an optional SQL selectable of resource keys that limits which
        resources' histories may be seen (access control passes a compartment here).
        """
        query = _history_union(resource_type, id, since, at, res_keys)
        ordered = query.subquery()
        order_key = tuple_(
            ordered.c.last_updated, ordered.c.resource_type, ordered.c.id, ordered.c.version_id
        )
        statement = select(*[ordered.c[name] for name in _COLUMNS])
        if before is not None:
            statement = statement.where(
                order_key
                < tuple_(
                    before.last_updated, before.resource_type, before.id, before.version_id
                )
            )
        statement = statement.order_by(
            ordered.c.last_updated.desc(),
            ordered.c.resource_type.desc(),
            ordered.c.id.desc(),
            ordered.c.version_id.desc(),
        ).limit(limit)
        with self.reading() as conn:
            return [_stored(row) for row in conn.execute(statement)]

    def count_history(
        self,
        resource_type: str | None = None,
        id: str | None = None,
        *,
        since: int | None = None,
        at: int | None = None,
        res_keys: Any = None,
    ) -> int:

        query = _history_union(resource_type, id, since, at, res_keys).subquery()
        with self.reading() as conn:
            return int(conn.execute(select(func.count()).select_from(query)).scalar_one())

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection for reads: on SQLite a deferred BEGIN, so it never queues behind
        (or blocks) a writer's lock; it reads a consistent snapshot."""
        with self.engine.connect() as conn:
            yield conn.execution_options(**{READ_ONLY: True})

    @contextmanager
    def writer(self) -> Iterator[Writer]:
        """A write transaction: everything written in it commits together or not at all."""
        with self.engine.begin() as conn:
            yield Writer(conn, self.indexer)


def _on_event_loop() -> bool:
    return asyncio._get_running_loop() is not None


class _ReaderConnection(threading.local):
    """One autocommit DBAPI connection per event loop thread, for reads by id.

    Reads by id run on the event loop (the FHIR layer measured the worker-thread hop at
    several times the lookup), and a pool checkout and reset cost twice the query, so
    the loop keeps a connection of its own, taken out of the pool (detached), in
    autocommit so that it never holds a transaction open. Worker threads use the pool.
    A connection that fails is closed and replaced on the next read.
    """

    fairy: Any = None

    def get(self, engine: Engine) -> _ReaderConnection:
        if self.fairy is None:
            fairy = engine.raw_connection()
            fairy.detach()
            fairy.rollback()
            if engine.dialect.name == "postgresql":
                fairy.dbapi_connection.autocommit = True
            self.fairy = fairy
            # Closed with the store (or at exit): a detached connection has no pool to.
            weakref.finalize(self, fairy.close)
        return self

    def fetch_one(self, sql: str, params: Any) -> Any:
        try:
            cursor = self.fairy.dbapi_connection.cursor()
            cursor.execute(sql, params)
            row = cursor.fetchone()
            cursor.close()
        except Exception:
            fairy, self.fairy = self.fairy, None
            fairy.close()
            raise
        return row


def _compiled_read(engine: Engine) -> tuple[str, bool]:
    """The read-by-id statement as the dialect's SQL, bound as (type, id) or {t, i}."""
    table = schema.resource
    statement = select(*[table.c[name] for name in _COLUMNS]).where(
        table.c.resource_type == bindparam("t"), table.c.id == bindparam("i")
    )
    compiled = statement.compile(dialect=engine.dialect)
    if compiled.positional:
        assert list(compiled.positiontup or []) == ["t", "i"]
    return str(compiled), bool(compiled.positional)


def read_current(conn: Connection, resource_type: str, id: str) -> StoredResource | None:
    row = conn.execute(
        select(*[schema.resource.c[name] for name in _COLUMNS]).where(
            schema.resource.c.resource_type == resource_type, schema.resource.c.id == id
        )
    ).first()
    return _stored(row) if row else None


def _history_union(
    resource_type: str | None,
    id: str | None,
    since: int | None,
    at: int | None,
    res_keys: Any,
) -> Any:
    current = schema.resource
    past = schema.resource_history
    current_query = select(*[current.c[name] for name in _COLUMNS])
    past_query = select(*[past.c[name] for name in _COLUMNS])
    if res_keys is not None:
        current_query = current_query.where(current.c.res_key.in_(res_keys))
        past_query = past_query.join(
            current,
            (current.c.resource_type == past.c.resource_type) & (current.c.id == past.c.id),
        ).where(current.c.res_key.in_(res_keys))
    for table, query_name in ((current, "current"), (past, "past")):
        conditions = []
        if resource_type is not None:
            conditions.append(table.c.resource_type == resource_type)
        if id is not None:
            conditions.append(table.c.id == id)
        if since is not None:
            conditions.append(table.c.last_updated >= since)
        if at is not None:
            conditions.append(table.c.last_updated <= at)
        if query_name == "current":
            current_query = current_query.where(*conditions)
        else:
            past_query = past_query.where(*conditions)
    return union_all(current_query, past_query)


class Writer:
    """Writes inside one database transaction; see ``Store.writer``."""

    def __init__(self, conn: Connection, indexer: Indexer) -> None:
        self.connection = conn
        self.indexer = indexer
        # One transaction, one lastUpdated: every version it writes shares the instant.
        self.now = now_microseconds()

    def read(self, resource_type: str, id: str) -> StoredResource | None:
        return read_current(self.connection, resource_type, id)

    def create(self, resource: dict[str, Any]) -> StoredResource:
        """Store a new resource under a server-assigned id."""
        resource["id"] = str(uuid.uuid4())
        return self.put(resource)

    def put(
        self, resource: dict[str, Any], expected_version: int | None = None
    ) -> StoredResource:
        """Create or update the resource under its own id (update semantics)."""
        if expected_version is not None:
            current = self.read(resource["resourceType"], resource["id"])
            current_version = current.version_id if current and not current.deleted else None
            if current_version != expected_version:
                raise VersionConflict(
                    resource["resourceType"], resource["id"], expected_version, current_version
                )
        return self.put_many([resource])[0]

    def put_many(self, resources: Sequence[dict[str, Any]]) -> list[StoredResource]:
        """Create or update many resources; a repeated id becomes successive versions."""
        stored: list[StoredResource] = []
        batch: list[dict[str, Any]] = []
        keys: set[tuple[str, str]] = set()
        for resource in resources:
            key = (resource["resourceType"], resource["id"])
            if key in keys or len(batch) >= _CHUNK:
                stored.extend(self._put_batch(batch))
                batch, keys = [], set()
            batch.append(resource)
            keys.add(key)
        if batch:
            stored.extend(self._put_batch(batch))
        return stored

    def delete(self, resource_type: str, id: str) -> StoredResource | None:
        """Mark the resource deleted as a new version; None if there was nothing to delete."""
        current = self.connection.execute(
            select(
                schema.resource.c.res_key,
                schema.resource.c.version_id,
                schema.resource.c.deleted,
            ).where(
                schema.resource.c.resource_type == resource_type, schema.resource.c.id == id
            )
        ).first()
        if current is None or current.deleted:
            return None
        self._archive([current.res_key])
        self._drop_index_rows([current.res_key], keep_compartment=True)
        version_id = current.version_id + 1
        self.connection.execute(
            sql_update(schema.resource)
            .where(schema.resource.c.res_key == current.res_key)
            .values(version_id=version_id, last_updated=self.now, deleted=True, content=None)
        )
        return StoredResource(resource_type, id, version_id, self.now, True, None)

    def _put_batch(self, resources: list[dict[str, Any]]) -> list[StoredResource]:
        existing = self._existing(resources)
        instant = to_instant(self.now)
        new_rows: list[dict[str, Any]] = []
        updated_rows: list[dict[str, Any]] = []
        results: list[StoredResource] = []
        index_rows: list[IndexRows] = []
        for resource in resources:
            key = (resource["resourceType"], resource["id"])
            res_key, old_version = existing.get(key, (None, 0))
            version_id = old_version + 1
            meta = dict(resource.get("meta") or {})
            meta["versionId"] = str(version_id)
            meta["lastUpdated"] = instant
            resource["meta"] = meta
            content = orjson.dumps(resource).decode()
            index_rows.append(self.indexer(resource))
            row = {
                "resource_type": key[0],
                "id": key[1],
                "version_id": version_id,
                "last_updated": self.now,
                "deleted": False,
                "content": content,
            }
            if res_key is None:
                new_rows.append(row)
            else:
                updated_rows.append({**row, "key": res_key})
            results.append(StoredResource(key[0], key[1], version_id, self.now, False, content))

        updated_keys = [row["key"] for row in updated_rows]
        if updated_keys:
            self._archive(updated_keys)
            self._drop_index_rows(updated_keys, keep_compartment=False)
            self.connection.execute(
                sql_update(schema.resource)
                .where(schema.resource.c.res_key == bindparam("key"))
                .values(
                    version_id=bindparam("version_id"),
                    last_updated=bindparam("last_updated"),
                    deleted=bindparam("deleted"),
                    content=bindparam("content"),
                ),
                updated_rows,
            )
        new_keys = self._insert_new(new_rows)
        key_of = {(row["resource_type"], row["id"]): row["key"] for row in updated_rows}
        key_of.update(new_keys)
        self._insert_index_rows(resources, index_rows, key_of)
        return results

    def _existing(
        self, resources: list[dict[str, Any]]
    ) -> dict[tuple[str, str], tuple[int, int]]:
        # Per type, `id IN (...)` uses the (resource_type, id) unique index on both
        # databases; a row-value IN over pairs did not on SQLite.
        ids_by_type: dict[str, list[str]] = {}
        for resource in resources:
            ids_by_type.setdefault(resource["resourceType"], []).append(resource["id"])
        found: dict[tuple[str, str], tuple[int, int]] = {}
        for resource_type, ids in ids_by_type.items():
            rows = self.connection.execute(
                _EXISTING, {"resource_type": resource_type, "ids": ids}
            )
            for id, res_key, version_id in rows:
                found[(resource_type, id)] = (res_key, version_id)
        return found

    def _insert_new(self, rows: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
        if not rows:
            return {}
        keys = self._allocate_keys(len(rows))
        _insert_many(
            self.connection,
            schema.resource,
            ("res_key", *_COLUMNS),
            [
                (key, *[row[name] for name in _COLUMNS])
                for key, row in zip(keys, rows, strict=True)
            ],
        )
        return {
            (row["resource_type"], row["id"]): key for key, row in zip(keys, rows, strict=True)
        }

    def _allocate_keys(self, count: int) -> list[int]:
        """Keys for new resources, taken before the insert so index rows need no read-back.

        PostgreSQL draws them from the column's sequence; on SQLite the writer holds the
        database's only write lock (BEGIN IMMEDIATE), so the keys after the largest are free.
        """
        if self.connection.dialect.name == "postgresql":
            sequence = func.nextval(_RES_KEY_SEQUENCE)
            rows = self.connection.execute(
                select(sequence).select_from(func.generate_series(1, count))
            )
            return [row[0] for row in rows]
        largest = self.connection.execute(select(func.max(schema.resource.c.res_key))).scalar()
        first = (largest or 0) + 1
        return list(range(first, first + count))

    def _archive(self, res_keys: list[int]) -> None:
        current = schema.resource
        self.connection.execute(
            insert(schema.resource_history).from_select(
                list(_COLUMNS),
                select(*[current.c[name] for name in _COLUMNS]).where(
                    current.c.res_key.in_(res_keys)
                ),
            )
        )

    def _drop_index_rows(self, res_keys: list[int], *, keep_compartment: bool) -> None:
        tables: Iterable[Any] = schema.INDEX_TABLES.values()
        if not keep_compartment:
            tables = [*tables, schema.compartment]
        for table in tables:
            self.connection.execute(delete(table).where(table.c.res_key.in_(res_keys)))

    def _insert_index_rows(
        self,
        resources: list[dict[str, Any]],
        index_rows: list[IndexRows],
        key_of: dict[tuple[str, str], int],
    ) -> None:
        by_kind: dict[str, list[tuple[Any, ...]]] = {kind: [] for kind in schema.INDEX_TABLES}
        compartment_rows: list[tuple[Any, ...]] = []
        for resource, rows in zip(resources, index_rows, strict=True):
            resource_type = resource["resourceType"]
            res_key = key_of[(resource_type, resource["id"])]
            for kind, kind_rows in rows.by_kind().items():
                target = by_kind[kind]
                values = _VALUE_COLUMNS[kind]
                for row in kind_rows:
                    target.append(
                        (res_key, resource_type, row["param"], *[row.get(c) for c in values])
                    )
            for patient_id in rows.patients:
                compartment_rows.append((res_key, patient_id))
        for kind, table_rows in by_kind.items():
            if table_rows:
                table = schema.INDEX_TABLES[kind]
                columns = ("res_key", "resource_type", "param", *_VALUE_COLUMNS[kind])
                _insert_many(self.connection, table, columns, table_rows)
        if compartment_rows:
            _insert_many(
                self.connection, schema.compartment, ("res_key", "patient_id"), compartment_rows
            )


# The value columns of each index table, in the order rows are bound.
_VALUE_COLUMNS: dict[str, tuple[str, ...]] = {
    kind: tuple(
        column.name
        for column in table.columns
        if column.name not in ("res_key", "resource_type", "param")
    )
    for kind, table in schema.INDEX_TABLES.items()
}


@functools.cache
def _compiled_insert(
    dialect: Dialect, table: Table, columns: tuple[str, ...]
) -> tuple[str, bool]:
    compiled = insert(table).compile(dialect=dialect, column_keys=list(columns))
    return str(compiled), compiled.positional


def _insert_many(
    connection: Connection, table: Table, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> None:
    """executemany of an INSERT compiled once per table: the loader's hot path.

    The statement is SQLAlchemy's own; only the per-row parameter processing of a Core
    execution (which cost more than the database's work) is skipped.
    """
    sql, positional = _compiled_insert(connection.dialect, table, columns)
    params: list[Any] = (
        rows if positional else [dict(zip(columns, row, strict=True)) for row in rows]
    )
    connection.exec_driver_sql(sql, params)
