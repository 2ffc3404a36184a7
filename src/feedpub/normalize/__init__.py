"""RawArticle -> Article: clean, zoned, categorized and keyed.

Every rule about what an article *means* lives below this package, so every
source gets the same answers. Bad values cost the value, not the article: an
unreadable date makes the article undated (it then keeps the time it was first
seen), a hostile category level is dropped; both come back as warnings.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from ..model import Article, CategoryPath, Problem, RawArticle
from . import categories, text, timestamps, topics

FUTURE_SLACK = timedelta(days=1)
MAX_TITLE = 500


def normalize(raw: RawArticle, *, now: datetime, summary_length: int = 200,
              base_url: str | None = None, feeds=()) -> tuple[Article | None, list[Problem]]:
    """Normalize one article; return it (or None) and what went wrong.

    Relative links in the body resolve against the page it was read from
    (`raw.base_url`), else the article's own URL, else `base_url` (the site)."""
    warnings: list[str] = list(raw.notes)
    title = text.clean_line(raw.title)
    if not title:
        return None, [Problem(raw.source, raw.location, "no title: not an article")]
    if len(title) > MAX_TITLE:
        warnings.append(f"title of {len(title)} characters cut to {MAX_TITLE}")
        title = title[:MAX_TITLE - 1].rstrip() + "…"

    zone = timestamps.zone(raw.timezone or "UTC")
    date_raw, published, published_relative = _published(raw, zone, now, warnings)
    updated, updated_relative = _instant(raw.updated, "updated", zone, raw.gathered_at, now, warnings)
    if published and updated and updated < published:
        updated = None

    paths = _categories(raw, title, warnings)

    url = None
    if raw.link:
        link = text.clean_line(raw.link)
        parts = urlsplit(link)
        if parts.scheme in ("http", "https") and parts.netloc:
            url = link
        else:
            warnings.append(f"link {link!r} is not an absolute http(s) URL; ignored")

    body = text.body_html(raw.body, raw.body_format, raw.base_url or url or base_url)
    body_text = text.html_to_text(body)
    if raw.summary:
        summary = text.summarize(text.html_to_text(text.sanitize_html(raw.summary)), summary_length)
    else:
        summary = text.summarize(body_text, summary_length)

    given_id = text.clean_line(raw.id) or None
    author = text.clean_line(raw.author) or None
    source_name = text.clean_line(raw.source_name) or None
    if given_id:
        key = f"id:{raw.source}:{given_id}"          # ids are the source's own: two CMSs may both have id 5
    elif url:
        key = "url:" + url
    else:
        # Same title and same instant: the same story, however it was saved.
        when = published.isoformat() if published else "undated:" + _digest(text.fold(body_text)[:4000])
        key = "text:" + _digest(text.fold(title) + "\x1f" + when)

    content_hash = _digest("\x1f".join([
        text.fold(title), text.fold(body_text), text.fold(summary), author or "", source_name or "",
        "|".join(p.key for p in paths), url or "",
        _as_hashed(published, published_relative, date_raw), _as_hashed(updated, updated_relative, raw.updated),
    ]))
    article = Article(
        source=raw.source, location=raw.location, key=key, title=title, body_html=body, summary=summary,
        published=published, updated=updated, gathered_at=raw.gathered_at.astimezone(timezone.utc), date_raw=date_raw, categories=tuple(paths),
        content_hash=content_hash, url=url, author=author, source_name=source_name, given_id=given_id,
        topics=topics.feeds_for(feeds, title, body_text, [p.key for p in paths]),
        claimed=raw.claimed and url is not None,
    )
    problems = [Problem(raw.source, raw.location, w, "warning") for w in warnings]
    return article, problems


def _published(raw: RawArticle, zone, now: datetime, warnings: list[str]):
    """(the words used, the instant, read relative?) of an article's date.

    The page's own date first; the listing's when the page's is missing or
    unusable, or when both name the same day and the listing's says more
    (a listing's `2020-06-01 09:30` against a page's `2020-06-01`)."""
    page_notes: list[str] = []
    page = _parsed(raw.date, "date", zone, raw.gathered_at, now, page_notes)
    listing = _parsed(raw.listing_date, "listing date", zone, raw.gathered_at, now, [])
    if listing is not None and (page is None or (
            page.when.astimezone(zone).date() == listing.when.astimezone(zone).date()
            and listing.precision > page.precision)):
        if page is None:
            warnings.extend(note.replace("treated as undated", "the listing's date is used") for note in page_notes)
        return raw.listing_date, listing.when, listing.relative
    warnings.extend(page_notes)
    return raw.date, (page.when if page else None), bool(page and page.relative)


def _instant(value: str | None, what: str, zone, gathered: datetime, now: datetime,
             warnings: list[str]) -> tuple[datetime | None, bool]:
    """The instant a date means, and whether it was read relative to the gathering."""
    parsed = _parsed(value, what, zone, gathered, now, warnings)
    return (parsed.when, parsed.relative) if parsed else (None, False)


def _parsed(value: str | None, what: str, zone, gathered: datetime, now: datetime,
            warnings: list[str]) -> timestamps.Parsed | None:
    if not value or not value.strip():
        return None
    try:
        parsed = timestamps.parse_detail(value, zone=zone, gathered_at=gathered)
    except timestamps.TimestampError as exc:
        warnings.append(f"{what}: {exc}; treated as undated")
        return None
    if parsed.when > now + FUTURE_SLACK:
        warnings.append(f"{what} {value!r} is in the future ({parsed.when:%Y-%m-%dT%H:%M:%SZ}); treated as undated")
        return None
    return parsed


def _as_hashed(when: datetime | None, relative: bool, written: str | None) -> str:
    """A date as the content hash sees it: a relative one (`3小時前`) by its
    words, so reading the same file again later (a touch, a copy) is no edit."""
    if when is None:
        return ""
    return "as written:" + " ".join(written.split()) if relative else when.isoformat()


def _categories(raw: RawArticle, title: str, warnings: list[str]) -> list[CategoryPath]:
    if raw.categories:
        level_lists = [categories.levels_from_path(c) for c in raw.categories]
    elif raw.breadcrumb:
        level_lists = [categories.levels_from_breadcrumb(raw.breadcrumb, title)]
    else:
        level_lists = []
    if not any(level_lists) and raw.default_category:
        level_lists = [categories.levels_from_path(raw.default_category)]
    paths, seen = [], set()
    for levels in level_lists:
        path, notes = categories.make_path(levels)
        warnings.extend(notes)
        if path is not None and path.key not in seen:
            seen.add(path.key)
            paths.append(path)
    return paths


def _digest(s: str) -> str:
    return hashlib.sha256(s.encode("utf-8", "surrogatepass")).hexdigest()[:32]
