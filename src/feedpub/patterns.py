"""Regular expressions from the configuration, run by RE2: time linear in
the text searched, whatever the pattern (Python's `re` backtracks: `冷.*鏈`
over a long article without 鏈 is quadratic, and a filter must never let
one long page stall a build). RE2 has no backreferences or lookarounds; a
pattern that needs them is refused when the configuration is read."""

from __future__ import annotations

from functools import lru_cache


class PatternError(ValueError):
    """A pattern RE2 cannot run; the message says why."""


@lru_cache(maxsize=256)
def compile(pattern: str):
    """The compiled pattern (`.search(text)`), or PatternError."""
    import re2                       # imported when a pattern is used: most configurations have none
    options = re2.Options()
    options.log_errors = False       # a bad pattern is a ConfigError, not a line on stderr
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        reason = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise PatternError(f"{reason} (feedpub's patterns are RE2: no backreferences or lookarounds)") from None


def any_of(words) -> object:
    """One pattern that finds any of these literal words: one pass over a text."""
    import re2
    return compile("|".join(re2.escape(w) for w in sorted(set(words), key=lambda w: (-len(w), w))))
