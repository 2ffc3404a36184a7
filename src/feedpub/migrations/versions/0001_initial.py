"""The store of feedpub 0.1.0's first cut: articles, categories, files seen, problems.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op


revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "articles",
        sa.Column("pk", sa.Integer, primary_key=True),
        sa.Column("id", sa.String(500), nullable=False, unique=True),
        sa.Column("key", sa.String(600), nullable=False, unique=True),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("url", sa.Text),
        sa.Column("page_path", sa.String(300)),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("body_html", sa.Text, nullable=False),
        sa.Column("author", sa.Text),
        sa.Column("source_name", sa.Text),
        sa.Column("published", sa.DateTime, nullable=False),
        sa.Column("dated", sa.Boolean, nullable=False),
        sa.Column("updated", sa.DateTime, nullable=False),
        sa.Column("first_seen", sa.DateTime, nullable=False),
        sa.Column("date_raw", sa.Text),
        sa.Column("content_hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_articles_published", "articles", ["published", "id"])
    op.create_table(
        "categories",
        sa.Column("pk", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(600), nullable=False, unique=True),
        sa.Column("parent_pk", sa.Integer, sa.ForeignKey("categories.pk")),
        sa.Column("depth", sa.Integer, nullable=False),
        sa.Column("slug", sa.String(100), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.UniqueConstraint("parent_pk", "slug", name="uq_categories_sibling_slug"),
    )
    op.create_table(
        "article_categories",
        sa.Column("article_pk", sa.Integer, sa.ForeignKey("articles.pk", ondelete="CASCADE"), primary_key=True),
        sa.Column("category_pk", sa.Integer, sa.ForeignKey("categories.pk"), primary_key=True),
        sa.Column("direct", sa.Boolean, nullable=False),
        sa.Column("spelling", sa.Text, nullable=False),
        sa.Column("published", sa.DateTime, nullable=False),
    )
    op.create_index("ix_article_categories_newest", "article_categories", ["category_pk", "published"])
    op.create_table(
        "origins",
        sa.Column("source", sa.String(200), primary_key=True),
        sa.Column("location", sa.String(1000), primary_key=True),
        sa.Column("article_pk", sa.Integer, sa.ForeignKey("articles.pk", ondelete="CASCADE"), nullable=False),
    )
    op.create_table(
        "seen",
        sa.Column("source", sa.String(200), primary_key=True),
        sa.Column("location", sa.String(1000), primary_key=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("mtime_ns", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "problems",
        sa.Column("pk", sa.Integer, primary_key=True),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("location", sa.String(1000), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("first_seen", sa.DateTime, nullable=False),
        sa.Column("last_seen", sa.DateTime, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
    )
    op.create_index("ix_problems_where", "problems", ["source", "location"])
    op.create_table(
        "meta",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in ("meta", "problems", "seen", "origins", "article_categories", "categories", "articles"):
        op.drop_table(table)
