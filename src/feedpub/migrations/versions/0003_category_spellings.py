"""Per-category spelling counts kept as items come and go, and an index for archive order.

What every regeneration asks (how many items each category has, which of its
spellings is most used) was a GROUP BY over every article-category link: its
cost grew with the archive. Counted as links are written, it is a read of a
few rows. The index serves "a category's items in the order first stored"
(archive pages) without a sort.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "category_spellings",
        sa.Column("category_pk", sa.Integer, sa.ForeignKey("categories.pk"), primary_key=True),
        sa.Column("spelling", sa.String(500), primary_key=True),
        sa.Column("links", sa.Integer, nullable=False),
    )
    op.execute("INSERT INTO category_spellings (category_pk, spelling, links) "
               "SELECT category_pk, spelling, count(*) FROM article_categories GROUP BY category_pk, spelling")
    op.create_index("ix_article_categories_stored", "article_categories", ["category_pk", "article_pk"])


def downgrade() -> None:
    op.drop_index("ix_article_categories_stored", "article_categories")
    op.drop_table("category_spellings")
