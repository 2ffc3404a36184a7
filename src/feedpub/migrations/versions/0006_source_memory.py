"""One table for what every source remembers between gathers.

Before: a folder's files seen (`seen`: size, mtime), a web source's HTTP
validators and listing dates (`http_cache`), an SQL source's high-water mark
(a `sql_since:<name>` row of `meta`): three shapes, and a fourth source type
would have needed a fourth. Now `source_memory` holds (source, key) -> an
opaque text value that only the source type reads: a folder's key is a
file's location and its value "size mtime_ns"; a web source's key is a URL
and its value JSON; an SQL source's one key is "since".

Revision ID: 0006
Revises: 0005
"""
import json
import re

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

SINCE = "sql_since:"
SINCE_KINDS = {"datetime", "date", "int", "str"}

memory = sa.table("source_memory", sa.column("source"), sa.column("key"), sa.column("value"))
seen = sa.table("seen", sa.column("source"), sa.column("location"), sa.column("size"), sa.column("mtime_ns"))
http_cache = sa.table("http_cache", sa.column("source"), sa.column("url"), sa.column("etag"),
                      sa.column("last_modified"), sa.column("listing_date"))
meta = sa.table("meta", sa.column("name"), sa.column("value"))


def _copy(conn, rows) -> None:
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == 1000:
            conn.execute(memory.insert(), batch)
            batch = []
    if batch:
        conn.execute(memory.insert(), batch)


def upgrade() -> None:
    op.create_table(
        "source_memory",
        sa.Column("source", sa.String(200), primary_key=True),
        sa.Column("key", sa.String(2000), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    conn = op.get_bind()
    _copy(conn, (dict(source=r.source, key=r.location, value=f"{r.size} {r.mtime_ns}")
                 for r in conn.execute(sa.select(seen.c.source, seen.c.location, seen.c.size, seen.c.mtime_ns))))

    def web(r) -> str:
        values = {k: v for k, v in (("etag", r.etag), ("last_modified", r.last_modified)) if v is not None}
        return json.dumps({**values, "listing_date": r.listing_date}, ensure_ascii=False, sort_keys=True)
    _copy(conn, (dict(source=r.source, key=r.url, value=web(r)) for r in conn.execute(sa.select(http_cache))))
    _copy(conn, (dict(source=r.name[len(SINCE):], key="since", value=r.value)
                 for r in conn.execute(sa.select(meta).where(meta.c.name.like(SINCE + "%")))))
    conn.execute(meta.delete().where(meta.c.name.like(SINCE + "%")))
    op.drop_table("seen")
    op.drop_table("http_cache")


def downgrade() -> None:
    op.create_table(
        "seen",
        sa.Column("source", sa.String(200), primary_key=True),
        sa.Column("location", sa.String(1000), primary_key=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("mtime_ns", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "http_cache",
        sa.Column("source", sa.String(200), primary_key=True),
        sa.Column("url", sa.String(2000), primary_key=True),
        sa.Column("etag", sa.Text),
        sa.Column("last_modified", sa.Text),
        sa.Column("listing_date", sa.Text),
    )
    conn = op.get_bind()
    for r in conn.execute(sa.select(memory)).all():
        if r.key == "since" and r.value.startswith("{") and set(json.loads(r.value)) <= SINCE_KINDS:
            conn.execute(meta.insert().values(name=SINCE + r.source, value=r.value))   # an SQL source's mark
        elif r.value.startswith("{"):                                # a web source's URL
            v = json.loads(r.value)
            conn.execute(http_cache.insert().values(source=r.source, url=r.key, etag=v.get("etag"),
                                                    last_modified=v.get("last_modified"),
                                                    listing_date=v.get("listing_date")))
        elif re.fullmatch(r"\d+ \d+", r.value) and r.key != "since":   # a folder's file
            size, mtime = r.value.split()
            conn.execute(seen.insert().values(source=r.source, location=r.key, size=int(size), mtime_ns=int(mtime)))

    op.drop_table("source_memory")
