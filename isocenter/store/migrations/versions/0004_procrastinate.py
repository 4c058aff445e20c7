"""procrastinate's schema (PostgreSQL only): the task queue of export workers

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 16:00:00

procrastinate 3.10.0's own schema.sql, run as it ships (isocenter/bulk/queue.py). SQLite
databases have no worker processes and so no queue. A later procrastinate version brings
its own migration files, to be applied by a migration here.
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    from procrastinate.schema import SchemaManager

    # Without parameters psycopg runs the script as it is (several statements, literal %).
    bind.connection.driver_connection.execute(SchemaManager.get_schema())


def downgrade() -> None:
    raise NotImplementedError("procrastinate's schema is not removed by a downgrade")
