"""Timestamps as newsrooms write them -> aware UTC datetimes, to the second.

The one table of date formats. Order matters: the Chinese, numeric and
relative forms are matched by our own patterns first, because dateutil alone
misreads them (with fuzzy=True `3小时前` becomes the 3rd of this month). What
the table does not know goes to dateutil, never fuzzily. A time without a zone
is in the source's zone, resolved DST-correctly by dateutil.tz; a date without
a time is 00:00 there. Relative forms are relative to when the article was
gathered (file mtime, HTTP Date), never to the clock.
"""

from __future__ import annotations

import email.utils
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Callable

from dateutil import parser as du_parser
from dateutil import tz
from dateutil.relativedelta import relativedelta

MIN_YEAR, MAX_YEAR = 1970, 2200


class TimestampError(ValueError):
    """The string is not a date we can trust; the message says why."""


_UNITS = {
    "秒": "seconds", "秒鐘": "seconds", "秒钟": "seconds", "second": "seconds", "sec": "seconds",
    "分": "minutes", "分鐘": "minutes", "分钟": "minutes", "minute": "minutes", "min": "minutes",
    "小時": "hours", "小时": "hours", "個小時": "hours", "个小时": "hours", "個鐘頭": "hours", "个钟头": "hours",
    "hour": "hours", "hr": "hours",
    "天": "days", "日": "days", "day": "days",
    "周": "weeks", "週": "weeks", "星期": "weeks", "個星期": "weeks", "个星期": "weeks", "week": "weeks",
    "個月": "months", "个月": "months", "月": "months", "month": "months",
    "年": "years", "year": "years",
}
_DAY_WORDS = {"今天": 0, "今日": 0, "today": 0, "昨天": 1, "昨日": 1, "yesterday": 1, "前天": 2}
_HALF = re.compile(r"^半\s*(?:個|个)?\s*(小時|小时|鐘頭|钟头)\s*(?:前|以前)$")
_NOW_WORDS = {"剛剛", "刚刚", "剛才", "刚才", "just now", "now", "現在", "现在"}

_LABEL = re.compile(r"^(?:(?:[發发][佈布表]|更新|出版|上傳|上传)?(?:[時时][間间]|日期)|published|updated|date|posted)"
                    r"\s*[:：]\s*", re.I)
_WEEKDAY = re.compile(r"[(（]?(?:星期|週|周|礼拜|禮拜)[一二三四五六日天][)）]?")
_TIME = r"(?:\s*T?\s*(上午|下午|晚上|中午|早上|凌晨)?\s*(\d{1,2})\s*[:時时点點]\s*(\d{1,2})(?:\s*[:分]\s*(\d{1,2})(?:\.\d+)?\s*秒?)?\s*分?)?"
_ZONE = r"\s*(Z|UTC|GMT|[+-]\d{2}:?\d{2})?"
_FULL = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?" + _TIME + _ZONE + r"$", re.I)
_NO_YEAR = re.compile(r"^(\d{1,2})\s*[-/月]\s*(\d{1,2})\s*日?" + _TIME + r"$")
_TIME_ONLY = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_RELATIVE = re.compile(r"^(\d+)\s*(" + "|".join(sorted(map(re.escape, _UNITS), key=len, reverse=True))
                       + r")s?\s*(?:前|以前|ago)$", re.I)
_DAY_WORD = re.compile(r"^(" + "|".join(_DAY_WORDS) + r")\s*(?:(\d{1,2})\s*[:：]\s*(\d{2})(?:\s*[:：]\s*(\d{2}))?)?$",
                       re.I)
_EPOCH = re.compile(r"^\d{9,10}(?:\.\d+)?$|^\d{12,13}$")
_RFC822 = re.compile(r"^(?:[A-Za-z]{3},?\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{2,4}\s+\d{1,2}:\d{2}")
_HAS_YEAR = re.compile(r"\b\d{4}\b|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b", re.I)


def zone(name: str) -> tzinfo:
    """A tzinfo for an IANA name (validated in config)."""
    z = tz.gettz(name)
    if z is None:
        raise TimestampError(f"unknown time zone {name!r}")
    return z


def localize(naive: datetime, z: tzinfo) -> datetime:
    """Attach a zone DST-correctly: a time in the spring gap moves forward,
    an ambiguous autumn time is its first occurrence."""
    aware = naive.replace(tzinfo=z, fold=0)
    if not tz.datetime_exists(aware):
        aware = tz.resolve_imaginary(aware)
    return aware


@dataclass(frozen=True)
class Parsed:
    """A timestamp as understood: the instant, and how much the words said."""

    when: datetime               # aware, UTC, whole seconds
    relative: bool               # read against the gathering (3小時前, 昨天 14:30, 06-01): kept once stored
    precision: int               # 0 a day, 1 minutes, 2 seconds: the more precise of two agreeing dates wins


def parse(raw: str, *, zone: tzinfo, gathered_at: datetime) -> datetime:
    """Parse one timestamp as written into an aware UTC datetime (whole seconds).

    Raises TimestampError for text that is not a date, an impossible date
    (2020/13/45) or one outside the years a news article can have.
    """
    return parse_detail(raw, zone=zone, gathered_at=gathered_at).when


def parse_detail(raw: str, *, zone: tzinfo, gathered_at: datetime) -> Parsed:
    """`parse`, saying whether the result depends on when it was gathered
    and how precise it is. Text that is not a date as a whole (a byline:
    `作者：張三 來源：港口網 時間：2020-07-01 09:12:07 點擊：`) yields the
    date-time written inside it: one after a time label wins, else the most
    precise."""
    try:
        return _parse_whole(raw, zone, gathered_at)
    except TimestampError as whole:
        for candidate in _embedded(unicodedata.normalize("NFKC", raw)):
            try:
                return _parse_whole(candidate, zone, gathered_at)
            except TimestampError:
                continue
        raise whole from None


# A date-time inside other text: a full date, maybe a time, maybe a zone.
_INSIDE = re.compile(r"(\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?"
                     r"(?:\s*T?\s*(?:上午|下午|晚上|中午|早上|凌晨)?\s*\d{1,2}\s*[:時时点點]\s*\d{1,2}"
                     r"(?:\s*[:分]\s*\d{1,2}(?:\.\d+)?\s*秒?)?\s*分?)?(?:\s*(?:Z|[+-]\d{2}:?\d{2}))?)")
# A relative date inside other text (`發布時間：剛剛 來源：港口網`).
_INSIDE_RELATIVE = re.compile(r"(剛剛|刚刚|剛才|刚才|半\s*(?:個|个)?\s*(?:小時|小时|鐘頭|钟头)\s*(?:前|以前)"
                              r"|\d+\s*(?:秒|秒鐘|秒钟|分鐘|分钟|分|小時|小时|個小時|个小时|天|日|周|週)\s*(?:前|以前)"
                              r"|(?:今天|今日|昨天|昨日|前天)(?:\s*\d{1,2}\s*[:：]\s*\d{2}(?:\s*[:：]\s*\d{2})?)?)")
_TIME_LABEL = re.compile(r"(?:[發发][佈布表]|出版)?(?:[時时][間间]|日期)\s*[:：]\s*$")
_UPDATED_LABEL = re.compile(r"(?:更新|修改|修訂|修订)(?:[時时][間间]|日期|於|于)?\s*[:：]?\s*$")


def _embedded(text: str) -> list[str]:
    """The date-times written inside `text`, best first: after a time (or
    publishing) label, then unlabelled, then after an update label (the
    published time over the updated one); then by precision (seconds,
    minutes, a day), then in order."""
    found = []
    matches = [(m, False) for m in _INSIDE.finditer(text)] + [(m, True) for m in _INSIDE_RELATIVE.finditer(text)]
    for m, relative in matches:
        value = m.group(1).strip()
        before = text[max(0, m.start() - 12):m.start()]
        rank = 2 if _UPDATED_LABEL.search(before) else 0 if _TIME_LABEL.search(before) else 1
        precision = 1 if relative else (value.count(":") + value.count("：")
                                        + sum(value.count(c) for c in "時时点點分秒"))
        found.append((rank, -min(precision, 2), relative, m.start(), value))
    return [value for *_, value in sorted(found)]


def _parse_whole(raw: str, zone: tzinfo, gathered_at: datetime) -> Parsed:
    if gathered_at.tzinfo is None:
        raise ValueError("gathered_at must be aware")
    s = unicodedata.normalize("NFKC", raw).strip()
    s = _LABEL.sub("", s)
    s = " ".join(_WEEKDAY.sub(" ", s).split())
    if not s:
        raise TimestampError("empty date")
    relative = False
    for pattern, handler in _TABLE:
        m = pattern.match(s)
        if m:
            try:
                result = handler(m, zone, gathered_at)
            except (ValueError, OverflowError) as exc:
                raise TimestampError(f"impossible date {raw!r}: {exc}") from None
            relative = handler in _RELATIVE_HANDLERS
            break
    else:
        result = _fallback(s, raw, zone, gathered_at)
    if not MIN_YEAR <= result.year <= MAX_YEAR:
        raise TimestampError(f"absurd date {raw!r} (year {result.year})")
    return Parsed(result.astimezone(timezone.utc).replace(microsecond=0), relative, _precision(s, relative))


def _precision(s: str, relative: bool) -> int:
    """How much of the time the words give: 2 seconds, 1 minutes (or an
    hour ago), 0 the day (or days ago)."""
    m = _RELATIVE.match(s)
    if m:                                         # N units ago: as precise as its unit
        unit = _UNITS[m.group(2).lower().rstrip("s") if m.group(2).isascii() else m.group(2)]
        return {"seconds": 2, "minutes": 2, "hours": 1}.get(unit, 0)
    if _HALF.match(s):
        return 1
    if relative and not _DAY_WORD.match(s) and not _NO_YEAR.match(s) and not _TIME_ONLY.match(s):
        return 2                                  # 剛剛: the moment of the gathering
    clock = re.search(r"(\d{1,2})\s*[:時时点點]\s*(\d{1,2})(\s*[:分]\s*\d{1,2})?", s)
    if _EPOCH.match(s) or re.search(r"\d{1,2}:\d{2}:\d{2}", s) or (clock and clock.group(3)):
        return 2
    return 1 if clock else 0


def _hour(ampm: str | None, hour: int) -> int:
    """A 12-hour clock's hour in 24: 下午3點 is 15, 上午12:35 is 00:35, 中午1點 is 13."""
    if ampm in ("下午", "晚上") and hour < 12:
        return hour + 12
    if ampm == "中午" and hour < 11:
        return hour + 12
    if ampm in ("上午", "早上", "凌晨") and hour == 12:
        return 0
    return hour


def _with_zone(naive: datetime, zone_text: str | None, z: tzinfo) -> datetime:
    if not zone_text:
        return localize(naive, z)
    if zone_text.upper() in ("Z", "UTC", "GMT"):
        return naive.replace(tzinfo=timezone.utc)
    sign = 1 if zone_text[0] == "+" else -1
    digits = zone_text[1:].replace(":", "")
    return naive.replace(tzinfo=timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))))


def _full(m: re.Match, z: tzinfo, gathered: datetime) -> datetime:
    y, mo, d, ampm, hh, mi, ss, zone_text = m.groups()
    naive = datetime(int(y), int(mo), int(d), _hour(ampm, int(hh or 0)), int(mi or 0), int(ss or 0))
    return _with_zone(naive, zone_text, z)


def _no_year(m: re.Match, z: tzinfo, gathered: datetime) -> datetime:
    """`06-01`: the latest such date that is not in the future of the gathering."""
    mo, d, ampm, hh, mi, ss = m.groups()
    local = gathered.astimezone(z)
    for year in range(local.year, local.year - 8, -1):
        try:
            naive = datetime(year, int(mo), int(d), _hour(ampm, int(hh or 0)), int(mi or 0), int(ss or 0))
        except ValueError:
            continue  # 02-29 in a year without it
        cand = localize(naive, z)
        if (cand <= gathered) if hh else (cand.date() <= local.date()):
            return cand
    raise ValueError(f"no year makes {mo}-{d} a real date")


def _time_only(m: re.Match, z: tzinfo, gathered: datetime) -> datetime:
    hh, mi, ss = m.groups()
    local = gathered.astimezone(z)
    cand = localize(datetime(local.year, local.month, local.day, int(hh), int(mi), int(ss or 0)), z)
    return cand if cand <= gathered else localize(cand.replace(tzinfo=None) - timedelta(days=1), z)


def _relative(m: re.Match, z: tzinfo, gathered: datetime) -> datetime:
    n, unit = int(m.group(1)), _UNITS[m.group(2).lower().rstrip("s") if m.group(2).isascii() else m.group(2)]
    return gathered - relativedelta(**{unit: n})


def _day_word(m: re.Match, z: tzinfo, gathered: datetime) -> datetime:
    word, hh, mi, ss = m.groups()
    day = gathered.astimezone(z).date() - timedelta(days=_DAY_WORDS[word.lower()])
    return localize(datetime(day.year, day.month, day.day, int(hh or 0), int(mi or 0), int(ss or 0)), z)


def _now(m: re.Match, z: tzinfo, gathered: datetime) -> datetime:
    return gathered


def _half_hour(m: re.Match, z: tzinfo, gathered: datetime) -> datetime:
    return gathered - timedelta(minutes=30)


def _epoch(m: re.Match, z: tzinfo, gathered: datetime) -> datetime:
    value = float(m.group(0))
    return datetime.fromtimestamp(value / 1000 if value > 1e11 else value, timezone.utc)


def _iso(m: re.Match, z: tzinfo, gathered: datetime) -> datetime:
    value = datetime.fromisoformat(m.group(0))
    return value if value.tzinfo else localize(value, z)


def _rfc822(m: re.Match, z: tzinfo, gathered: datetime) -> datetime:
    value = email.utils.parsedate_to_datetime(m.string)
    if value is None:
        raise ValueError("not an RFC 822 date")
    # "-0000" means "zone unknown" in RFC 5322: the source's zone is the better guess.
    return value if value.tzinfo else localize(value, z)


_TABLE: list[tuple[re.Pattern, Callable[[re.Match, tzinfo, datetime], datetime]]] = [
    (re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$", re.I), _iso),
    (_FULL, _full),
    (_RELATIVE, _relative),
    (_HALF, _half_hour),
    (re.compile("^(?:" + "|".join(_NOW_WORDS) + ")$", re.I), _now),
    (_DAY_WORD, _day_word),
    (_EPOCH, _epoch),
    (_NO_YEAR, _no_year),
    (_TIME_ONLY, _time_only),
    (_RFC822, _rfc822),
]


# What these read depends on the moment of gathering, not only on the words.
_RELATIVE_HANDLERS = {_relative, _half_hour, _now, _day_word, _no_year, _time_only}


def _fallback(s: str, raw: str, z: tzinfo, gathered: datetime) -> datetime:
    """dateutil for the rest, strictly: it must see a year or a month name."""
    if not _HAS_YEAR.search(s):
        raise TimestampError(f"not a date: {raw!r}")
    try:
        value = du_parser.parse(s, default=datetime(gathered.year, 1, 1))
    except (du_parser.ParserError, ValueError, OverflowError):
        raise TimestampError(f"not a date: {raw!r}") from None
    return value if value.tzinfo else localize(value, z)
