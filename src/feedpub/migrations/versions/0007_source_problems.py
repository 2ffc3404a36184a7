"""Problems of a whole gather, kept apart from those of one file or page.

A source's own problems (a listing that timed out, a selector that found
nothing on any page, an article field missing on some pages) describe its
last gather: each gather replaces them, so `feedpub status` shows what is
wrong now, not every problem a source ever had. A file's or page's own
problems are cleared as before, when it is read again.

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("problems") as batch:
        batch.add_column(sa.Column("whole_source", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("problems") as batch:
        batch.drop_column("whole_source")
