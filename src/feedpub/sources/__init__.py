"""Gather: the places articles come from. A source yields RawArticles, as written."""


class SourceError(Exception):
    """One file, page or query could not be read; the message says why."""
