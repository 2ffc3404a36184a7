"""Inserts that two publishers can run at once without making a row twice."""

from __future__ import annotations


import sqlalchemy as sa
from sqlalchemy.engine import Connection


def dialect_insert(conn: Connection, table: sa.Table):
    """INSERT with ON CONFLICT (SQLite and PostgreSQL spell it alike)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def insert_or_nothing(conn: Connection, table: sa.Table, values: dict, returning: bool = True):
    """INSERT … ON CONFLICT DO NOTHING: two publishers inserting the same row
    never make two, and never fail (unique constraints, not check-then-insert).
    Returns the new pk, or None if the row (or a unique value) existed."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif conn.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        nested = conn.begin_nested()
        try:
            result = conn.execute(table.insert().values(**values))
        except sa.exc.IntegrityError:
            nested.rollback()
            return None
        nested.commit()
        return result.inserted_primary_key[0] if returning else True
    stmt = insert(table).values(**values).on_conflict_do_nothing()
    if returning:
        return conn.execute(stmt.returning(table.c.pk)).scalar()
    return True if conn.execute(stmt).rowcount else None
