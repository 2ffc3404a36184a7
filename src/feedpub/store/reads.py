"""Rows -> what render needs: categories, items, pages (read models)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterator

import sqlalchemy as sa

from ..model import CategoryRow, Item
from .schema import UTCDateTime, article_categories, articles, categories, category_spellings


class ArticleReads:
    """Store methods (on `self.engine`): what render and status read."""

    def categories(self) -> list[CategoryRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(categories).order_by(categories.c.depth, categories.c.key))
            return [CategoryRow(r.pk, r.key, r.parent_pk, r.depth, r.slug, r.name) for r in rows]

    def spellings(self) -> dict[int, list[tuple[str, int]]]:
        """Per category, how often each spelling of its name occurs."""
        c = category_spellings.c
        out: dict[int, list[tuple[str, int]]] = {}
        with self.engine.connect() as conn:
            for pk, spelling, n in conn.execute(sa.select(c.category_pk, c.spelling, c.links).where(c.links > 0)
                                                .order_by(c.category_pk, c.spelling)):
                out.setdefault(pk, []).append((spelling, n))
        return out

    def counts(self) -> dict[int, int]:
        c = category_spellings.c
        q = sa.select(c.category_pk, sa.func.sum(c.links)).group_by(c.category_pk).having(sa.func.sum(c.links) > 0)
        with self.engine.connect() as conn:
            return {pk: int(n) for pk, n in conn.execute(q)}

    def newest_times(self) -> dict[int, datetime]:
        """Per category, the newest item's time (for the index): one indexed
        MAX per category, not a GROUP BY over every link."""
        ac = article_categories.c
        newest = (sa.select(sa.func.max(ac.published)).where(ac.category_pk == categories.c.pk)
                  .scalar_subquery())
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(categories.c.pk, sa.type_coerce(newest, UTCDateTime)))
            return {pk: v if v.tzinfo else v.replace(tzinfo=timezone.utc) for pk, v in rows if v is not None}

    def with_own_articles(self) -> set[int]:
        """The categories that have articles filed in them directly (not only
        through a subcategory): one index search per category."""
        ac, c = article_categories.c, categories.c
        q = sa.select(c.pk).where(sa.exists().where(ac.category_pk == c.pk, ac.direct))
        with self.engine.connect() as conn:
            return set(conn.execute(q).scalars())

    def article_count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(articles)).scalar_one()

    def newest(self, category_pk: int | None, limit: int) -> list[tuple[Item, list[int]]]:
        """The newest `limit` items under a category (None: all), newest first,
        each with the pks of the categories it was filed in directly."""
        a = articles.c
        q = sa.select(articles)
        if category_pk is not None:
            ac = article_categories.c
            q = (sa.select(articles).join(article_categories, ac.article_pk == a.pk)
                 .where(ac.category_pk == category_pk).order_by(ac.published.desc(), a.id.desc()))
        else:
            q = q.order_by(a.published.desc(), a.id.desc())
        with self.engine.connect() as conn:
            rows = conn.execute(q.limit(limit)).all()
            pks = [r.pk for r in rows]
            direct: dict[int, list[int]] = {pk: [] for pk in pks}
            if pks:
                links = conn.execute(
                    sa.select(article_categories.c.article_pk, article_categories.c.category_pk)
                    .where(article_categories.c.article_pk.in_(pks), article_categories.c.direct)
                    .order_by(article_categories.c.category_pk))
                for apk, cpk in links:
                    direct[apk].append(cpk)
        return [(item_of(r), direct[r.pk]) for r in rows]

    def items(self, pks: list[int]) -> dict[int, tuple[Item, list[int]]]:
        """Items by pk, each with the pks of the categories it was filed in directly."""
        return {pk: (item, cats) for pk, item, cats in self._rows_by_pk(sorted(pks))}

    def page_pks(self) -> list[int]:
        """The pks of every item that needs an article page of our own."""
        with self.engine.connect() as conn:
            return conn.execute(sa.select(articles.c.pk).where(articles.c.page_path.is_not(None))
                                .order_by(articles.c.pk)).scalars().all()

    def pages(self, pks) -> Iterator[tuple[Item, list[int]]]:
        """The items among `pks` that need an article page of our own, read
        500 at a time: a full render never holds every item."""
        pks = sorted(pks)
        for start in range(0, len(pks), 500):
            yield from self._items_by_pk(pks[start:start + 500], pages_only=True)

    def _items_by_pk(self, pks, pages_only: bool = False) -> list[tuple[Item, list[int]]]:
        return [(item, cats) for _, item, cats in self._rows_by_pk(pks, pages_only)]

    def _rows_by_pk(self, pks, pages_only: bool = False) -> list[tuple[int, Item, list[int]]]:
        out = []
        with self.engine.connect() as conn:
            for chunk in (pks[i:i + 500] for i in range(0, len(pks), 500)):
                q = sa.select(articles).where(articles.c.pk.in_(chunk))
                if pages_only:
                    q = q.where(articles.c.page_path.is_not(None))
                rows = conn.execute(q.order_by(articles.c.pk)).all()
                links = conn.execute(
                    sa.select(article_categories.c.article_pk, article_categories.c.category_pk)
                    .where(article_categories.c.article_pk.in_(chunk), article_categories.c.direct)
                    .order_by(article_categories.c.category_pk)).all()
                direct: dict[int, list[int]] = {}
                for apk, cpk in links:
                    direct.setdefault(apk, []).append(cpk)
                out.extend((r.pk, item_of(r), direct.get(r.pk, [])) for r in rows)
        return out

    def topic_inputs(self, after: int, limit: int = 500) -> list[tuple[int, str, str, list[str]]]:
        """(pk, title, body HTML, keys of the categories it is filed in) of the
        articles after pk `after`: what decides which filtered feeds hold them."""
        a, ac, c = articles.c, article_categories.c, categories.c
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(a.pk, a.title, a.body_html).where(a.pk > after)
                                .order_by(a.pk).limit(limit)).all()
            keys: dict[int, list[str]] = {r.pk: [] for r in rows}
            if rows:
                for apk, key in conn.execute(sa.select(ac.article_pk, c.key).join(categories, c.pk == ac.category_pk)
                                             .where(ac.article_pk.in_(list(keys)), ac.direct)):
                    keys[apk].append(key)
        return [(r.pk, r.title, r.body_html, keys[r.pk]) for r in rows]


def newest_first(rows):
    return sorted(rows, key=lambda x: (x[0].published, x[0].id), reverse=True)


def item_of(r) -> Item:
    return Item(id=r.id, url=r.url or "", title=r.title, summary=r.summary, body_html=r.body_html,
                published=r.published, updated=r.updated, author=r.author, source_name=r.source_name,
                page_path=r.page_path)
