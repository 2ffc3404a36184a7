"""Gather: the places articles come from. A source yields RawArticles, as written."""


class SourceError(Exception):
    """One file, page or query could not be read; the message says why."""


def check(settings) -> None:
    """What only a source type knows how to check about its settings (a web
    source's CSS selectors), checked before anything runs: a ConfigError
    naming the file and the key, as for the rest of the configuration."""
    from ..config import ConfigError
    for n, source in enumerate(settings.sources):
        if source.type == "web":
            from .select import SelectorError, compile_selector
            web = source.web
            fields = [(k, getattr(web, k)) for k in ("item", "title", "link", "date", "next_page")]
            if web.article is not None:
                fields += [(f"article.{k}", getattr(web.article, k))
                           for k in ("title", "date", "source", "body", "breadcrumb", "author")]
            for key, value in fields:
                if value is None:
                    continue
                try:
                    compile_selector(value)
                except SelectorError as exc:
                    raise ConfigError(f"{settings.path}: sources[{n}] ({source.name}).{key}: {exc}") from None
