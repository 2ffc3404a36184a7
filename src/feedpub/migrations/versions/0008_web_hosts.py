"""What the web sources asked of each host: requests, 304s, time on the network.

An aggregator reading hundreds of sites wants to see, per host, how much
it asks (and how much of it a 304 answers) and whether its time goes to
waiting on the network or to its own work: running totals per host,
added to by every gather.

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_hosts",
        sa.Column("host", sa.String(255), primary_key=True),
        sa.Column("requests", sa.Integer, nullable=False),
        sa.Column("not_modified", sa.Integer, nullable=False),
        sa.Column("network_seconds", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("web_hosts")
