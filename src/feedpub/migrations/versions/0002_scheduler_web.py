"""What `feedpub run` and web sources keep: per-source status, processes, HTTP validators, gathers.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op


revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Stores made by development builds between 0001 and 0002 may have some of
    # these tables already: create only what is missing.
    existing = set(sa.inspect(op.get_bind()).get_table_names())

    def create_table(name, *columns):
        if name not in existing:
            op.create_table(name, *columns)

    create_table(
        "source_status",
        sa.Column("source", sa.String(200), primary_key=True),
        sa.Column("last_run", sa.DateTime),
        sa.Column("last_success", sa.DateTime),
        sa.Column("last_duration", sa.Float),
        sa.Column("last_error", sa.Text),
        sa.Column("last_error_at", sa.DateTime),
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_run", sa.DateTime),
        sa.Column("runs", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_new", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_updated", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_problems", sa.Integer, nullable=False, server_default="0"),
    )
    create_table(
        "processes",
        sa.Column("host", sa.String(255), primary_key=True),
        sa.Column("pid", sa.Integer, primary_key=True),
        sa.Column("started", sa.DateTime, nullable=False),
        sa.Column("heartbeat", sa.DateTime, nullable=False),
    )
    create_table(
        "http_cache",
        sa.Column("source", sa.String(200), primary_key=True),
        sa.Column("url", sa.String(2000), primary_key=True),
        sa.Column("etag", sa.Text),
        sa.Column("last_modified", sa.Text),
        sa.Column("listing_date", sa.Text),
    )
    create_table(
        "gathers",
        sa.Column("pk", sa.Integer, primary_key=True),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started", sa.DateTime, nullable=False),
        sa.Column("ended", sa.DateTime),
    )
    if "gathers" not in existing:
        op.create_index("ix_gathers_source", "gathers", ["source", "started"])


def downgrade() -> None:
    for table in ("gathers", "http_cache", "processes", "source_status"):
        op.drop_table(table)
