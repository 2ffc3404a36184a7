"""Source type `sql`: articles straight from a CMS database (MySQL/MariaDB, PostgreSQL).

The configured query is run read-only, with timeouts, and bound `:since` to
the newest value of the `published` column seen so far, so each gather reads
only what is new. Values come back as the database holds them; they are
handed on as strings as written (a naive DATETIME stays naive, so normalize
puts it in the source's zone; an integer is epoch seconds).
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from decimal import Decimal

import sqlalchemy as sa

from ..config import Source
from ..model import RawArticle
from . import Gathered, Recall, SourceError, Unit


def _text(value) -> str | None:
    """A database value as the string normalize reads."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return str(int(value))
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


def encode_since(value) -> str:
    """The newest `published` value seen, kept in the store between gathers."""
    if isinstance(value, datetime):
        return json.dumps({"datetime": value.isoformat()})
    if isinstance(value, date):
        return json.dumps({"date": value.isoformat()})
    if isinstance(value, (int, Decimal)):
        return json.dumps({"int": int(value)})
    return json.dumps({"str": str(value)})


def decode_since(text: str | None, default):
    if not text:
        return default
    kind, value = next(iter(json.loads(text).items()))
    return {"datetime": datetime.fromisoformat, "date": date.fromisoformat, "int": int, "str": str}[kind](value)


class SqlSource:
    """Source type `sql` (see sources.SourceType): its memory is one key,
    "since", the newest `published` value its query returned."""

    local = False

    def __init__(self, settings: Source, site_link: str = ""):
        self.settings = settings
        self.sql = settings.sql

    def _engine(self) -> sa.Engine:
        url = sa.engine.make_url(self.sql.url)
        timeout = max(1, int(self.sql.timeout))
        if url.get_backend_name() == "mysql":
            args = {"connect_timeout": timeout, "read_timeout": timeout}
        elif url.get_backend_name() == "postgresql":
            args = {"connect_timeout": timeout, "options": f"-c statement_timeout={timeout * 1000} "
                                                           f"-c default_transaction_read_only=on"}
        else:
            args = {}
        return sa.create_engine(url, connect_args=args, pool_pre_ping=True)

    def describe(self) -> str:
        return f"sql query on {self.sql.url.split('@')[-1]}"

    def gather(self, recall: Recall, *, should_stop=None, only=None, hold=None, settle: float = 0.0,
               listing=None, progress=None) -> Gathered:
        articles, since = self.query(recall(["since"]).get("since"))
        return Gathered([Unit(raw.location, raws=[raw]) for raw in articles],
                        remember={"since": since} if since else {}, fetched=len(articles))

    def read(self, task) -> list[RawArticle]:
        raise TypeError("an SQL source's units are fetched by gather")

    def where(self, location: str) -> str:
        return f"{self.settings.name}: {location}"

    def memo(self, unit: Unit) -> str | None:
        return None                      # its one memory is "since", in Gathered.remember

    def query(self, since_text: str | None) -> tuple[list[RawArticle], str | None]:
        """Rows newer than `since` -> RawArticles, and the new `since`."""
        since = decode_since(since_text, self.sql.since)
        fields = self.sql.fields
        engine = self._engine()
        try:
            with engine.connect() as conn:
                if conn.dialect.name == "mysql":
                    conn.exec_driver_sql("SET SESSION TRANSACTION READ ONLY")
                result = conn.execute(sa.text(self.sql.query), {"since": since} if ":since" in self.sql.query else {})
                rows = [dict(r._mapping) for r in result]
                conn.rollback()                  # read-only: nothing to keep
        except sa.exc.SQLAlchemyError as exc:
            raise SourceError(f"query failed: {exc.__class__.__name__}: {getattr(exc, 'orig', None) or exc}") from None
        finally:
            engine.dispose()
        gathered = datetime.now(timezone.utc).replace(microsecond=0)
        articles = []
        newest = since
        for n, row in enumerate(rows):
            missing = [f"{k} = {v!r}" for k, v in fields.items() if v not in row]
            if missing:
                raise SourceError(f"the query returns no column for {', '.join(missing)} "
                                  f"(it returns {', '.join(row)})")
            get = {k: row.get(v) for k, v in fields.items()}
            body = _text(get.get("body")) or ""
            ident = _text(get.get("id"))
            articles.append(RawArticle(
                source=self.settings.name, location=f"row:{ident if ident is not None else n}",
                gathered_at=gathered, title=_text(get.get("title")), date=_text(get.get("published")),
                updated=_text(get.get("updated")), body=body,
                body_format="html" if "<" in body and ">" in body else "text",
                categories=(_text(get.get("category")),) if get.get("category") else (),
                source_name=_text(get.get("source")), author=_text(get.get("author")),
                summary=_text(get.get("summary")), link=_text(get.get("link")),
                id=ident, timezone=self.settings.timezone, default_category=self.settings.category))
            value = get.get("published")
            if value is not None:
                try:
                    newest = value if newest is None or value > newest else newest
                except TypeError:
                    newest = value
        return articles, (encode_since(newest) if newest is not None else since_text)
