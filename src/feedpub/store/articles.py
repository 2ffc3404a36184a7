"""Article -> rows. Identity is decided here, once: an article is found by its
content key (or by the place it came from, for an edited file), and its item
id is minted on first insert and never recomputed. Categories are stored as a
closure (an article is linked to its category and every ancestor) so
"newest N under C" is one indexed query."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from ..identity import slug as slug_of
from ..identity import Stored, free_slug, merge_times, mint
from ..model import TOPIC, Article
from .schema import article_categories, articles, categories, category_spellings, origins
from .sql import dialect_insert, insert_or_nothing


@dataclass(frozen=True)
class Saved:
    outcome: str                   # "new", "updated", "unchanged" or "refused" (Article.claimed)
    category_keys: frozenset[str]  # categories whose feeds must change
    article_pk: int


class ArticleWrites:
    """Transaction methods (on `self.conn`): articles and their categories."""

    def forget_cache(self) -> None:
        """After a rolled-back savepoint: cached category pks may not exist."""
        self._cat_cache.clear()

    def save(self, art: Article, now: datetime) -> Saved:
        """Insert or update one article; ids are minted here and only here.
        An article whose URL is a page's claim (Article.claimed) changes no
        item published from another place: outcome "refused"."""
        a = articles.c
        row = self.conn.execute(sa.select(articles).where(a.key == art.key)).first()
        if row is not None and art.claimed and not self._placed_at(row.pk, art):
            # Another page's item: the first one stays as it was (and this
            # page does not become one of its places).
            return Saved("unchanged" if row.content_hash == art.content_hash else "refused", frozenset(), row.pk)
        if row is None:
            pk = self.conn.execute(sa.select(origins.c.article_pk).where(
                origins.c.source == art.source, origins.c.location == art.location)).scalar()
            if pk is not None:
                row = self.conn.execute(sa.select(articles).where(a.pk == pk)).first()
        now = now.replace(microsecond=0)
        if row is None:
            return self._insert(art, now)
        self._set_origin(art, row.pk)
        if row.content_hash == art.content_hash:
            return Saved("unchanged", frozenset(), row.pk)
        published, updated = merge_times(Stored(row.published, row.dated, row.date_raw, row.updated), art)
        values = dict(title=art.title, summary=art.summary, body_html=art.body_html, author=art.author,
                      source_name=art.source_name, published=published, dated=row.dated or bool(art.published),
                      updated=updated, date_raw=art.date_raw or row.date_raw,
                      content_hash=art.content_hash)
        if art.url and not row.url:
            values["url"] = art.url
        if art.key != row.key and self.conn.execute(sa.select(a.pk).where(a.key == art.key)).first() is None:
            values["key"] = art.key
        self.conn.execute(articles.update().where(a.pk == row.pk).values(**values))
        return Saved("updated", frozenset(self._relink(row.pk, art, published)), row.pk)

    def save_many(self, arts: list[Article], now: datetime) -> list[Saved]:
        """`save` for each article, in order, with new articles inserted a batch
        at a time: one multi-row INSERT per table instead of ~14 statements
        per article. Anything not plainly new (a known key or file, a second
        copy within the batch, a row another publisher just inserted) takes
        the one-by-one path of `save`, so the outcome is the same."""
        if len(arts) < 2 or self.conn.dialect.name not in ("sqlite", "postgresql"):
            return [self.save(art, now) for art in arts]
        now = now.replace(microsecond=0)
        a, o = articles.c, origins.c
        known = set(self.conn.execute(sa.select(a.key).where(a.key.in_({art.key for art in arts}))).scalars())
        placed = set()
        for source in {art.source for art in arts}:
            placed |= {(source, loc) for loc in self.conn.execute(sa.select(o.location).where(
                o.source == source, o.location.in_({art.location for art in arts if art.source == source}))
            ).scalars()}
        fresh, later, keys = [], [], set()
        for i, art in enumerate(arts):
            if art.key in known or art.key in keys or (art.source, art.location) in placed:
                later.append(i)
            else:
                keys.add(art.key)
                placed.add((art.source, art.location))
                fresh.append(i)
        results: list[Saved | None] = [None] * len(arts)
        if fresh:
            rows = [self._new_row(arts[i], now) for i in fresh]
            stmt = dialect_insert(self.conn, articles).on_conflict_do_nothing().returning(a.pk, a.key)
            inserted = {key: pk for pk, key in self.conn.execute(stmt, rows)}
            origin_rows, link_rows = [], []
            for i, row in zip(fresh, rows):
                art, pk = arts[i], inserted.get(arts[i].key)
                if pk is None:                 # its id or key was taken meanwhile: the careful path
                    later.append(i)
                    continue
                origin_rows.append(dict(source=art.source, location=art.location, article_pk=pk))
                links, cat_keys = self._links(pk, art, row["published"])
                link_rows.extend(links)
                results[i] = Saved("new", frozenset(cat_keys), pk)
            if origin_rows:
                ins = dialect_insert(self.conn, origins)
                self.conn.execute(ins.on_conflict_do_update(
                    index_elements=[o.source, o.location], set_={"article_pk": ins.excluded.article_pk}), origin_rows)
            self._insert_links(link_rows)
        for i in sorted(later):
            results[i] = self.save(arts[i], now)
        return results

    def _new_row(self, art: Article, now: datetime) -> dict:
        """The row of an article stored for the first time: its id is minted here."""
        minted = mint(art, now, self.id_authority)
        return dict(
            id=minted.id, key=art.key, source=art.source, url=art.url, page_path=minted.page_path,
            title=art.title, summary=art.summary, body_html=art.body_html, author=art.author,
            source_name=art.source_name, published=minted.published, dated=art.published is not None,
            updated=minted.updated, first_seen=now, date_raw=art.date_raw, content_hash=art.content_hash,
        )

    def _insert(self, art: Article, now: datetime) -> Saved:
        row = self._new_row(art, now)
        published = row["published"]
        pk = insert_or_nothing(self.conn, articles, row)
        if pk is None:
            # Another publisher stored this article a moment ago (its transaction
            # won the unique key): it is ours to update, not to insert again.
            return self.save(art, now)
        self._set_origin(art, pk)
        return Saved("new", frozenset(self._link_categories(pk, art, published)), pk)

    def _placed_at(self, pk: int, art: Article) -> bool:
        """Was the item `pk` published from the place `art` comes from?"""
        o = origins.c
        return self.conn.execute(sa.select(o.article_pk).where(o.source == art.source,
                                                               o.location == art.location)).scalar() == pk

    def _set_origin(self, art: Article, pk: int) -> None:
        o = origins.c
        current = self.conn.execute(sa.select(o.article_pk).where(o.source == art.source,
                                                                  o.location == art.location)).scalar()
        if current is None:
            if insert_or_nothing(self.conn, origins, dict(source=art.source, location=art.location, article_pk=pk),
                                  returning=False) is None:
                current = -1                                    # inserted meanwhile by another publisher
        if current is not None and current != pk:
            self.conn.execute(origins.update().where(o.source == art.source, o.location == art.location)
                              .values(article_pk=pk))

    def _relink(self, pk: int, art: Article, published: datetime) -> set[str]:
        """An edited article's categories: links it keeps are updated in place
        (so they keep their archive places), links it lost go, new ones are
        added. Returns the keys of the categories it was and is in."""
        ac = article_categories.c
        was = self.conn.execute(sa.select(ac.category_pk, ac.spelling, categories.c.key)
                                .join(categories, categories.c.pk == ac.category_pk)
                                .where(ac.article_pk == pk)).all()
        current = {cpk: spelling for cpk, spelling, _ in was}
        rows, keys = self._links(pk, art, published)
        wanted = {r["category_pk"]: r for r in rows}
        gone = [cpk for cpk in current if cpk not in wanted]
        if gone:
            self.conn.execute(article_categories.delete().where(ac.article_pk == pk, ac.category_pk.in_(gone)))
        for cpk, r in wanted.items():
            if cpk in current:
                self.conn.execute(article_categories.update().where(ac.article_pk == pk, ac.category_pk == cpk)
                                  .values(direct=r["direct"], spelling=r["spelling"], published=r["published"]))
        added = [r for cpk, r in wanted.items() if cpk not in current]
        if added:
            self.conn.execute(article_categories.insert(), added)
        delta = Counter((r["category_pk"], r["spelling"]) for r in rows)
        delta.subtract(Counter(current.items()))
        self._count_spellings(delta)
        return keys | {key for _, _, key in was}

    def set_topics(self, pk: int, slugs) -> set[str]:
        """File an article in exactly these filtered feeds (after [[feeds]]
        changed); returns the keys of the feeds it entered or left."""
        ac, c = article_categories.c, categories.c
        row = self.conn.execute(sa.select(articles.c.published).where(articles.c.pk == pk)).first()
        was = {key: (cpk, spelling) for cpk, key, spelling in self.conn.execute(
            sa.select(ac.category_pk, c.key, ac.spelling).join(categories, c.pk == ac.category_pk)
            .where(ac.article_pk == pk, c.key.like(TOPIC + "%")))}
        wanted = {TOPIC + slug: slug for slug in slugs}
        gone = [cpk for key, (cpk, _) in was.items() if key not in wanted]
        if gone:
            self.conn.execute(article_categories.delete().where(ac.article_pk == pk, ac.category_pk.in_(gone)))
        added = [dict(article_pk=pk, category_pk=self._category(key, slug, "feed-" + slug.replace("/", "-")),
                      direct=False, spelling=slug, published=row.published)
                 for key, slug in wanted.items() if key not in was]
        if added:
            self.conn.execute(article_categories.insert(), added)
        delta = Counter((r["category_pk"], r["spelling"]) for r in added)
        delta.subtract(Counter(was[key] for key in was if key not in wanted))
        self._count_spellings(delta)
        return set(wanted) ^ set(was)

    def _link_categories(self, pk: int, art: Article, published: datetime) -> set[str]:
        rows, keys = self._links(pk, art, published)
        self._insert_links(rows)
        return keys

    def _insert_links(self, rows: list[dict]) -> None:
        if rows:
            self.conn.execute(article_categories.insert(), rows)
            self._count_spellings(Counter((r["category_pk"], r["spelling"]) for r in rows))

    def _count_spellings(self, delta: Counter) -> None:
        """Keep category_spellings in step with the links just written or removed."""
        c = category_spellings.c
        for (cpk, spelling), n in sorted(delta.items()):
            if n == 0:
                continue
            if self.conn.dialect.name in ("sqlite", "postgresql"):
                ins = dialect_insert(self.conn, category_spellings).values(category_pk=cpk, spelling=spelling, links=n)
                self.conn.execute(ins.on_conflict_do_update(index_elements=[c.category_pk, c.spelling],
                                                            set_={"links": c.links + ins.excluded.links}))
            elif not self.conn.execute(category_spellings.update().where(c.category_pk == cpk, c.spelling == spelling)
                                       .values(links=c.links + n)).rowcount:
                self.conn.execute(category_spellings.insert().values(category_pk=cpk, spelling=spelling, links=n))

    def _links(self, pk: int, art: Article, published: datetime) -> tuple[list[dict], set[str]]:
        """The closure rows of one article (its categories and their ancestors)."""
        links: dict[int, tuple[bool, str]] = {}
        keys = set()
        for path in art.categories:
            for n, prefix in enumerate(path.prefixes(), 1):
                cpk = self._category(prefix.key, prefix.levels[-1], None)
                direct = n == len(path.levels)
                if cpk not in links or direct:
                    links[cpk] = (direct or links.get(cpk, (False, ""))[0], prefix.levels[-1])
                keys.add(prefix.key)
        for slug in art.topics:                                   # filtered feeds: not a category it is filed in
            key = TOPIC + slug
            cpk = self._category(key, slug, "feed-" + slug.replace("/", "-"))
            links.setdefault(cpk, (False, slug))
            keys.add(key)
        rows = [dict(article_pk=pk, category_pk=cpk, direct=direct, spelling=spelling, published=published)
                for cpk, (direct, spelling) in sorted(links.items())]
        return rows, keys

    def _category(self, key: str, spelling: str, base: str | None) -> int:
        """The pk of a category, created (its slug minted once, unique among
        its siblings, from `base` or the pinyin of its last level) if new."""
        if key in self._cat_cache:
            return self._cat_cache[key]
        c = categories.c
        pk = self.conn.execute(sa.select(c.pk).where(c.key == key)).scalar()
        if pk is None:
            parent_key = key.rpartition("/")[0]
            parent_pk = self._cat_cache.get(parent_key) or (
                self.conn.execute(sa.select(c.pk).where(c.key == parent_key)).scalar() if parent_key else None)
            taken = set(self.conn.execute(sa.select(c.slug).where(
                c.parent_pk.is_(None) if parent_pk is None else c.parent_pk == parent_pk)).scalars())
            base = base or slug_of(key.rpartition("/")[2])
            while pk is None:
                slug = free_slug(base, taken)
                pk = insert_or_nothing(self.conn, categories, dict(
                    key=key, parent_pk=parent_pk, depth=key.count("/") + 1, slug=slug, name=spelling))
                if pk is None:          # a concurrent publisher took the key, or the slug
                    pk = self.conn.execute(sa.select(c.pk).where(c.key == key)).scalar()
                    taken.add(slug)
        self._cat_cache[key] = pk
        return pk
