"""The tables, as the newest migration leaves them (tests/test_migrations.py
compares the two)."""

from __future__ import annotations

from datetime import timezone

import sqlalchemy as sa


class UTCDateTime(sa.types.TypeDecorator):
    """Aware UTC in, aware UTC out, whatever the engine keeps."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return None if value is None else value.replace(tzinfo=timezone.utc)


metadata = sa.MetaData()


articles = sa.Table(
    "articles", metadata,
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
    sa.Column("published", UTCDateTime, nullable=False),
    sa.Column("dated", sa.Boolean, nullable=False),
    sa.Column("updated", UTCDateTime, nullable=False),
    sa.Column("first_seen", UTCDateTime, nullable=False),
    sa.Column("date_raw", sa.Text),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("place", sa.BigInteger),              # in the all-feed's archive: set when first published
    sa.Index("ix_articles_published", "published", "id"),
    sa.Index("ix_articles_place", "place"),                # NULLs too: "not placed yet" is a search
)


categories = sa.Table(
    "categories", metadata,
    sa.Column("pk", sa.Integer, primary_key=True),
    sa.Column("key", sa.String(600), nullable=False, unique=True),     # folded "a/b"
    sa.Column("parent_pk", sa.Integer, sa.ForeignKey("categories.pk")),
    sa.Column("depth", sa.Integer, nullable=False),
    sa.Column("slug", sa.String(100), nullable=False),                 # this level only
    sa.Column("name", sa.Text, nullable=False),                        # first spelling seen
    sa.Column("places", sa.BigInteger, nullable=False, server_default="0"),   # archive places handed out
    sa.UniqueConstraint("parent_pk", "slug", name="uq_categories_sibling_slug"),
)


article_categories = sa.Table(
    "article_categories", metadata,
    sa.Column("article_pk", sa.Integer, sa.ForeignKey("articles.pk", ondelete="CASCADE"), primary_key=True),
    sa.Column("category_pk", sa.Integer, sa.ForeignKey("categories.pk"), primary_key=True),
    sa.Column("direct", sa.Boolean, nullable=False),
    sa.Column("spelling", sa.Text, nullable=False),                    # this level as the article wrote it
    sa.Column("published", UTCDateTime, nullable=False),               # copied: one index serves "newest N of C"
    sa.Column("place", sa.BigInteger),              # in the category's archive: set when first published
    sa.Index("ix_article_categories_newest", "category_pk", "published"),
    sa.Index("ix_article_categories_place", "category_pk", "place"),
    sa.Index("ix_article_categories_direct", "category_pk", "direct"),
)


# Kept with the links (+1 when one is written, -1 when one goes): how many
# items each category has and which spelling of its name is most used are
# then a read of a few rows, whatever the size of the archive.
category_spellings = sa.Table(
    "category_spellings", metadata,
    sa.Column("category_pk", sa.Integer, sa.ForeignKey("categories.pk"), primary_key=True),
    sa.Column("spelling", sa.String(500), primary_key=True),
    sa.Column("links", sa.Integer, nullable=False),
)


origins = sa.Table(
    "origins", metadata,
    sa.Column("source", sa.String(200), primary_key=True),
    sa.Column("location", sa.String(1000), primary_key=True),
    sa.Column("article_pk", sa.Integer, sa.ForeignKey("articles.pk", ondelete="CASCADE"), nullable=False),
)


source_memory = sa.Table(
    # What each source remembers between gathers, as opaque text only its
    # type reads: a folder's files seen, a web source's HTTP validators, an
    # SQL source's high-water mark.
    "source_memory", metadata,
    sa.Column("source", sa.String(200), primary_key=True),
    sa.Column("key", sa.String(2000), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)


problems = sa.Table(
    "problems", metadata,
    sa.Column("pk", sa.Integer, primary_key=True),
    sa.Column("source", sa.String(200), nullable=False),
    sa.Column("location", sa.String(1000), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("severity", sa.String(10), nullable=False),
    sa.Column("first_seen", UTCDateTime, nullable=False),
    sa.Column("last_seen", UTCDateTime, nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    # A problem of the source's whole gather (replaced by each gather), not of one file or page.
    sa.Column("whole_source", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index("ix_problems_where", "source", "location"),
)


source_status = sa.Table(
    "source_status", metadata,
    sa.Column("source", sa.String(200), primary_key=True),
    sa.Column("last_run", UTCDateTime),          # when the last gather ended
    sa.Column("last_success", UTCDateTime),
    sa.Column("last_duration", sa.Float),
    sa.Column("last_error", sa.Text),
    sa.Column("last_error_at", UTCDateTime),
    sa.Column("failures", sa.Integer, nullable=False, default=0, server_default="0"),   # in a row, for backoff
    sa.Column("next_run", UTCDateTime),
    sa.Column("runs", sa.Integer, nullable=False, default=0, server_default="0"),
    sa.Column("last_new", sa.Integer, nullable=False, default=0, server_default="0"),
    sa.Column("last_updated", sa.Integer, nullable=False, default=0, server_default="0"),
    sa.Column("last_problems", sa.Integer, nullable=False, default=0, server_default="0"),
)


processes = sa.Table(
    "processes", metadata,
    sa.Column("host", sa.String(255), primary_key=True),
    sa.Column("pid", sa.Integer, primary_key=True),
    sa.Column("started", UTCDateTime, nullable=False),
    sa.Column("heartbeat", UTCDateTime, nullable=False),
)


# Running totals of what web sources asked of each host (host:port).
web_hosts = sa.Table(
    "web_hosts", metadata,
    sa.Column("host", sa.String(255), primary_key=True),
    sa.Column("requests", sa.Integer, nullable=False),
    sa.Column("not_modified", sa.Integer, nullable=False),
    sa.Column("network_seconds", sa.Float, nullable=False),
)


gathers = sa.Table(
    "gathers", metadata,
    sa.Column("pk", sa.Integer, primary_key=True),
    sa.Column("source", sa.String(200), nullable=False),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("started", UTCDateTime, nullable=False),
    sa.Column("ended", UTCDateTime),
    sa.Index("ix_gathers_source", "source", "started"),
)


meta = sa.Table(
    "meta", metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)


# The newest migration; tests/test_migrations.py checks it against Alembic's head.
HEAD_REVISION = "0008"
