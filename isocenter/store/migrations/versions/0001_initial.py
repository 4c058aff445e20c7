"""initial schema: resources, history, search indexes, compartment

Revision ID: 0001
Revises:
Create Date: 2026-12-03 14:12:58.291672
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "compartment",
        sa.Column(
            "res_key", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
    )
    op.create_index(
        "ix_compartment_patient", "compartment", ["patient_id", "res_key"], unique=False
    )
    op.create_index("ix_compartment_res_key", "compartment", ["res_key"], unique=False)
    op.create_table(
        "resource",
        sa.Column(
            "res_key",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("last_updated", sa.BigInteger(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("content", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("res_key"),
        sa.UniqueConstraint("resource_type", "id", name="uq_resource_type_id"),
    )
    op.create_index(
        "ix_resource_type_updated", "resource", ["resource_type", "last_updated"], unique=False
    )
    op.create_index("ix_resource_updated", "resource", ["last_updated"], unique=False)
    op.create_table(
        "resource_history",
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("last_updated", sa.BigInteger(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("content", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("resource_type", "id", "version_id"),
    )
    op.create_index(
        "ix_history_type_updated",
        "resource_history",
        ["resource_type", "last_updated"],
        unique=False,
    )
    op.create_index("ix_history_updated", "resource_history", ["last_updated"], unique=False)
    op.create_table(
        "search_date",
        sa.Column(
            "res_key", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("param", sa.String(length=64), nullable=False),
        sa.Column("start", sa.BigInteger(), nullable=False),
        sa.Column("end", sa.BigInteger(), nullable=False),
    )
    op.create_index(
        "ix_search_date_lookup",
        "search_date",
        ["resource_type", "param", "start", "end"],
        unique=False,
    )
    op.create_index("ix_search_date_res_key", "search_date", ["res_key"], unique=False)
    op.create_table(
        "search_number",
        sa.Column(
            "res_key", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("param", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
    )
    op.create_index(
        "ix_search_number_lookup",
        "search_number",
        ["resource_type", "param", "value"],
        unique=False,
    )
    op.create_index("ix_search_number_res_key", "search_number", ["res_key"], unique=False)
    op.create_table(
        "search_quantity",
        sa.Column(
            "res_key", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("param", sa.String(length=64), nullable=False),
        sa.Column("system", sa.Text(), nullable=True),
        sa.Column("code", sa.Text(), nullable=True),
        sa.Column("value", sa.Float(), nullable=False),
    )
    op.create_index(
        "ix_search_quantity_lookup",
        "search_quantity",
        ["resource_type", "param", "value"],
        unique=False,
    )
    op.create_index("ix_search_quantity_res_key", "search_quantity", ["res_key"], unique=False)
    op.create_table(
        "search_reference",
        sa.Column(
            "res_key", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("param", sa.String(length=64), nullable=False),
        sa.Column("target_type", sa.String(length=64), nullable=True),
        sa.Column("target_id", sa.String(length=64), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
    )
    op.create_index(
        "ix_search_reference_lookup",
        "search_reference",
        ["resource_type", "param", "target_id"],
        unique=False,
    )
    op.create_index(
        "ix_search_reference_res_key", "search_reference", ["res_key"], unique=False
    )
    op.create_index(
        "ix_search_reference_target",
        "search_reference",
        ["target_type", "target_id"],
        unique=False,
    )
    op.create_table(
        "search_string",
        sa.Column(
            "res_key", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("param", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("value_normalized", sa.Text(), nullable=False),
    )
    op.create_index(
        "ix_search_string_lookup",
        "search_string",
        ["resource_type", "param", "value_normalized"],
        unique=False,
    )
    op.create_index("ix_search_string_res_key", "search_string", ["res_key"], unique=False)
    op.create_table(
        "search_token",
        sa.Column(
            "res_key", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("param", sa.String(length=64), nullable=False),
        sa.Column("system", sa.Text(), nullable=True),
        sa.Column("code", sa.Text(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
    )
    op.create_index(
        "ix_search_token_lookup",
        "search_token",
        ["resource_type", "param", "code"],
        unique=False,
    )
    op.create_index("ix_search_token_res_key", "search_token", ["res_key"], unique=False)
    op.create_table(
        "search_uri",
        sa.Column(
            "res_key", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("param", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
    )
    op.create_index(
        "ix_search_uri_lookup", "search_uri", ["resource_type", "param", "value"], unique=False
    )
    op.create_index("ix_search_uri_res_key", "search_uri", ["res_key"], unique=False)


def downgrade() -> None:

    op.drop_index("ix_search_uri_res_key", table_name="search_uri")
    op.drop_index("ix_search_uri_lookup", table_name="search_uri")
    op.drop_table("search_uri")
    op.drop_index("ix_search_token_res_key", table_name="search_token")
    op.drop_index("ix_search_token_lookup", table_name="search_token")
    op.drop_table("search_token")
    op.drop_index("ix_search_string_res_key", table_name="search_string")
    op.drop_index("ix_search_string_lookup", table_name="search_string")
    op.drop_table("search_string")
    op.drop_index("ix_search_reference_target", table_name="search_reference")
    op.drop_index("ix_search_reference_res_key", table_name="search_reference")
    op.drop_index("ix_search_reference_lookup", table_name="search_reference")
    op.drop_table("search_reference")
    op.drop_index("ix_search_quantity_res_key", table_name="search_quantity")
    op.drop_index("ix_search_quantity_lookup", table_name="search_quantity")
    op.drop_table("search_quantity")
    op.drop_index("ix_search_number_res_key", table_name="search_number")
    op.drop_index("ix_search_number_lookup", table_name="search_number")
    op.drop_table("search_number")
    op.drop_index("ix_search_date_res_key", table_name="search_date")
    op.drop_index("ix_search_date_lookup", table_name="search_date")
    op.drop_table("search_date")
    op.drop_index("ix_history_updated", table_name="resource_history")
    op.drop_index("ix_history_type_updated", table_name="resource_history")
    op.drop_table("resource_history")
    op.drop_index("ix_resource_updated", table_name="resource")
    op.drop_index("ix_resource_type_updated", table_name="resource")
    op.drop_table("resource")
    op.drop_index("ix_compartment_res_key", table_name="compartment")
    op.drop_index("ix_compartment_patient", table_name="compartment")
    op.drop_table("compartment")
