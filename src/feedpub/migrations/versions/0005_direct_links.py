"""An index to find the categories that have articles filed in them directly.

The OPML a reader imports offers each article once: the topmost category on
its path that has articles of its own (its feed holds its subcategories'
articles too). Whether a parent category has any is then one index search.

Revision ID: 0005
Revises: 0004
"""
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_article_categories_direct", "article_categories", ["category_pk", "direct"])


def downgrade() -> None:
    op.drop_index("ix_article_categories_direct", "article_categories")
