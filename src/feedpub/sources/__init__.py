"""Gather: the places articles come from. A source yields RawArticles, as written."""
