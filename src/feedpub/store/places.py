"""Archive places: where each item sits in its feeds' archives, numbered once."""

from __future__ import annotations


import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..model import Item
from .reads import newest_first
from .schema import article_categories, articles, categories


class ArchivePlaces:
    """Store methods (on `self.engine`): archive places, handed out and read."""

    def place_items(self) -> None:
        """Give every item that no regeneration has published yet its place
        in the archives of the all-feed and of each of its categories: after
        the last place handed out there, in pk order.

        Archive page n of a feed is the items at places [(n-1)*size, n*size),
        so a place must never move: it is numbered once, here, under the
        regeneration lock, from counters that never go back. An item filed
        into another category by an edit gets a new place at the end there
        (and leaves a gap where it was), and an article that another
        publisher commits late still lands after every page already written.
        """
        a, ac, c = articles.c, article_categories.c, categories.c
        with self.begin() as conn:
            if conn.execute(sa.select(a.pk).where(a.place.is_(None)).limit(1)).first() is not None:
                base = next_place(conn)
                new = (sa.select(a.pk.label("p"), sa.func.row_number().over(order_by=a.pk).label("n"))
                       .where(a.place.is_(None)).subquery())
                conn.execute(articles.update().values(place=base + new.c.n - 1).where(a.pk == new.c.p))
            # One index search per category (not a scan of every link) finds those with new items.
            touched = conn.execute(sa.select(c.pk).where(sa.exists().where(
                ac.category_pk == c.pk, ac.place.is_(None)))).scalars().all()
            if touched:
                new = (sa.select(ac.article_pk.label("a"), ac.category_pk.label("c"), c.places.label("base"),
                                 sa.func.row_number().over(partition_by=ac.category_pk, order_by=ac.article_pk)
                                 .label("n"))
                       .join_from(article_categories, categories, c.pk == ac.category_pk)
                       .where(ac.category_pk.in_(touched), ac.place.is_(None)).subquery())
                conn.execute(article_categories.update().values(place=new.c.base + new.c.n - 1)
                             .where(ac.article_pk == new.c.a, ac.category_pk == new.c.c))
                last = sa.select(sa.func.max(ac.place) + 1).where(ac.category_pk == c.pk).scalar_subquery()
                conn.execute(categories.update().where(c.pk.in_(touched)).values(places=last))

    def places(self) -> dict[int | None, int]:
        """Archive places handed out per category (None: the all-feed): page n
        is closed once n * size of them are."""
        with self.engine.connect() as conn:
            out: dict[int | None, int] = dict(conn.execute(sa.select(categories.c.pk, categories.c.places)).all())
            out[None] = next_place(conn)
        return out

    def _placed(self, category_pk: int | None):
        if category_pk is None:
            return sa.select(articles.c.place, articles.c.pk), articles.c.place
        ac = article_categories.c
        return sa.select(ac.place, ac.article_pk).where(ac.category_pk == category_pk), ac.place

    def archive_places(self, category_pk: int | None) -> list[tuple[int, int]]:
        """(place, pk) of every placed item under a category (None: all), by
        place: archive page n holds those at places [(n-1)*size, n*size)."""
        q, place = self._placed(category_pk)
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(q.where(place.is_not(None)).order_by(place))]

    def not_archived(self, category_pk: int | None, archived: int) -> list[tuple[Item, list[int]]]:
        """The items at places from `archived` on (not on a closed page yet),
        and any not placed yet. Read through the place index: the cost is
        those items only."""
        q, place = self._placed(category_pk)
        with self.engine.connect() as conn:     # two index searches: an OR would scan the category
            pks = [pk for _, pk in conn.execute(sa.union_all(q.where(place >= archived), q.where(place.is_(None))))]
        return newest_first(self._items_by_pk(sorted(pks)))


def next_place(conn: Connection) -> int:
    """The all-feed's next archive place (articles are never deleted: no counter needed)."""
    last = conn.execute(sa.select(sa.func.max(articles.c.place))).scalar()
    return 0 if last is None else last + 1
