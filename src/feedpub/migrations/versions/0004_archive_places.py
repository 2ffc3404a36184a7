"""Archive places: each item's place in a feed's archive, fixed once published.

Archive page n of a feed holds the items at places [(n-1)*size, n*size).
Until 0003 the place was implied by article pk order, so an item filed into
another category by an edit landed mid-order there (and left a hole in the
old one): every later page boundary shifted by one, repeating one item on two
pages and leaving another on none. A PostgreSQL publisher could likewise
commit a smaller pk after a larger one was already on a closed page. Places
are now numbered when a regeneration (under the regeneration lock) first sees
an item in a feed, from a counter per category that never goes back.

The backfill numbers existing items in pk order: the pages already on disk
keep exactly the items they were written with.

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("articles", sa.Column("place", sa.BigInteger))
    op.add_column("article_categories", sa.Column("place", sa.BigInteger))
    op.add_column("categories", sa.Column("places", sa.BigInteger, nullable=False, server_default="0"))
    op.execute("UPDATE articles SET place = r.n - 1 FROM "
               "(SELECT pk AS p, ROW_NUMBER() OVER (ORDER BY pk) AS n FROM articles) AS r "
               "WHERE articles.pk = r.p")
    op.execute("UPDATE article_categories SET place = r.n - 1 FROM "
               "(SELECT article_pk AS a, category_pk AS c, "
               "ROW_NUMBER() OVER (PARTITION BY category_pk ORDER BY article_pk) AS n FROM article_categories) AS r "
               "WHERE article_categories.article_pk = r.a AND article_categories.category_pk = r.c")
    op.execute("UPDATE categories SET places = "
               "(SELECT count(*) FROM article_categories WHERE category_pk = categories.pk)")
    op.drop_index("ix_article_categories_stored", "article_categories")
    op.create_index("ix_article_categories_place", "article_categories", ["category_pk", "place"])
    op.create_index("ix_articles_place", "articles", ["place"])


def downgrade() -> None:
    op.drop_index("ix_articles_place", "articles")
    op.drop_index("ix_article_categories_place", "article_categories")
    op.create_index("ix_article_categories_stored", "article_categories", ["category_pk", "article_pk"])
    with op.batch_alter_table("categories") as batch:
        batch.drop_column("places")
    with op.batch_alter_table("article_categories") as batch:
        batch.drop_column("place")
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("place")
