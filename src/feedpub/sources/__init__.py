"""Gather: the places articles come from. A source yields RawArticles, as written."""


class SourceError(Exception):
    """One file, page or query could not be read; the message says why."""


def check(settings) -> None:
    """What only a source type knows how to check about its settings (a web
    source's CSS selectors and JMESPath expressions), checked before anything
    runs: a ConfigError naming the file and the key, as for the rest of the
    configuration."""
    from ..config import ConfigError
    for n, source in enumerate(settings.sources):
        if source.type != "web":
            continue
        from .select import SelectorError, compile_path, compile_selector
        web = source.web
        if web.render == "browser" or (web.article is not None and web.article.render == "browser"):
            from .browser import available
            why = available()
            if why:
                raise ConfigError(f"{settings.path}: sources[{n}] ({source.name}).render: {why}")
        listing = compile_path if web.listing == "json" else compile_selector
        fields = [("item", web.item, listing), ("next_page", web.next_page, compile_selector)]
        fields += [(k, getattr(web, k), listing) for k in ("title", "link", "date", "source", "summary")]
        if web.article is not None:
            fields += [(f"article.{k}", getattr(web.article, k), compile_selector)
                       for k in ("title", "date", "source", "body", "breadcrumb", "author")]
        for key, value, compile_ in fields:
            if value is None:
                continue
            try:
                compile_(value if isinstance(value, str) else value.select)
            except SelectorError as exc:
                raise ConfigError(f"{settings.path}: sources[{n}] ({source.name}).{key}: {exc}") from None
