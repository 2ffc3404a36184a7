"""The table of timestamp forms: every form the issue names, zones, DST, relative, bad."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from feedpub.normalize import timestamps

SHANGHAI = timestamps.zone("Asia/Shanghai")
NEW_YORK = timestamps.zone("America/New_York")
# Gathered (file mtime / HTTP Date) at 2020-07-01 09:30 in Shanghai.
GATHERED = datetime(2020, 7, 1, 1, 30, tzinfo=timezone.utc)


def utc(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


CASES = [
    # (as written, zone, expected UTC instant)
    ("2020/6/1 22:46:13", SHANGHAI, "2020-06-01T14:46:13Z"),
    ("2020/4/30 9:15:37", SHANGHAI, "2020-04-30T01:15:37Z"),
    ("2020/2/24 2:46:49", SHANGHAI, "2020-02-23T18:46:49Z"),    # crosses midnight into UTC's previous day
    ("2020-06-01 22:46", SHANGHAI, "2020-06-01T14:46:00Z"),
    ("2020-6-1 22:46", SHANGHAI, "2020-06-01T14:46:00Z"),
    ("2020年6月1日 22:46", SHANGHAI, "2020-06-01T14:46:00Z"),
    ("2020年6月1日", SHANGHAI, "2020-05-31T16:00:00Z"),          # a date alone is 00:00 local
    ("2020年6月1日 下午3:05", SHANGHAI, "2020-06-01T07:05:00Z"),
    ("２０２０年６月１日　２２：４６", SHANGHAI, "2020-06-01T14:46:00Z"),  # full-width digits
    ("2020.06.01", SHANGHAI, "2020-05-31T16:00:00Z"),
    ("發佈時間：2020-06-01 22:46", SHANGHAI, "2020-06-01T14:46:00Z"),
    ("發布時間：2020/6/1 8:45:44", SHANGHAI, "2020-06-01T00:45:44Z"),      # mixed-script label
    ("发布时间: 2020-06-01", SHANGHAI, "2020-05-31T16:00:00Z"),
    ("2020-01-22T01:53:59+08:00", SHANGHAI, "2020-01-21T17:53:59Z"),
    ("2020-05-14T04:12:19Z", SHANGHAI, "2020-05-14T04:12:19Z"),
    ("2020-06-01T22:46:13+0800", NEW_YORK, "2020-06-01T14:46:13Z"),   # an offset beats the zone
    ("2020-06-01T10:46:13.250-04:00", SHANGHAI, "2020-06-01T14:46:13Z"),
    ("Sat, 14 Mar 2020 05:20:39 GMT", SHANGHAI, "2020-03-14T05:20:39Z"),
    ("Mon, 01 Jun 2020 22:46:13 +0800", SHANGHAI, "2020-06-01T14:46:13Z"),
    ("1 Jun 2020 22:46:13 -0000", SHANGHAI, "2020-06-01T14:46:13Z"),   # -0000: zone unknown, so ours
    ("June 1, 2020 10:46 PM", SHANGHAI, "2020-06-01T14:46:00Z"),        # dateutil's part of the table
    ("1591022773", SHANGHAI, "2020-06-01T14:46:13Z"),                   # epoch seconds
    ("1591022773000", SHANGHAI, "2020-06-01T14:46:13Z"),                # epoch milliseconds
    # relative to the gathering, never to the clock
    ("剛剛", SHANGHAI, "2020-07-01T01:30:00Z"),
    ("刚刚", SHANGHAI, "2020-07-01T01:30:00Z"),
    ("53分鐘前", SHANGHAI, "2020-07-01T00:37:00Z"),
    ("5分钟前", SHANGHAI, "2020-07-01T01:25:00Z"),
    ("3小時前", SHANGHAI, "2020-06-30T22:30:00Z"),
    ("4小时前", SHANGHAI, "2020-06-30T21:30:00Z"),
    ("2天前", SHANGHAI, "2020-06-29T01:30:00Z"),
    ("3 hours ago", SHANGHAI, "2020-06-30T22:30:00Z"),
    ("昨天 14:30", SHANGHAI, "2020-06-30T06:30:00Z"),
    ("前天 08:00", SHANGHAI, "2020-06-29T00:00:00Z"),
    ("前天", SHANGHAI, "2020-06-28T16:00:00Z"),
    ("今天 09:00", SHANGHAI, "2020-07-01T01:00:00Z"),
    # no year: the latest such date not after the gathering
    ("06-01", SHANGHAI, "2020-05-31T16:00:00Z"),
    ("07-01", SHANGHAI, "2020-06-30T16:00:00Z"),          # today is not the future
    ("07-02", SHANGHAI, "2019-07-01T16:00:00Z"),          # tomorrow would be: last year's
    ("6月1日 22:46", SHANGHAI, "2020-06-01T14:46:00Z"),
    # DST: the zone's offset on that day, not today's
    ("2020-01-15 12:00", NEW_YORK, "2020-01-15T17:00:00Z"),
    ("2020-07-15 12:00", NEW_YORK, "2020-07-15T16:00:00Z"),
    ("2021-03-14 02:30", NEW_YORK, "2021-03-14T07:30:00Z"),   # in the spring gap: moves forward
    ("2021-11-07 01:30", NEW_YORK, "2021-11-07T05:30:00Z"),   # ambiguous: the first 01:30 (EDT)
]


@pytest.mark.parametrize("raw,zone,expected", CASES, ids=[c[0] for c in CASES])
def test_table(raw, zone, expected):
    got = timestamps.parse(raw, zone=zone, gathered_at=GATHERED)
    assert got == utc(expected)
    assert got.tzinfo == timezone.utc and got.microsecond == 0


BAD = [
    ("2020/13/45", "impossible"),
    ("2020-02-30 10:00", "impossible"),
    ("2020年2月30日", "impossible"),
    ("25:61", "impossible"),
    ("hello", "not a date"),
    ("5", "not a date"),                  # dateutil would make it the 5th of this month
    ("3小時候", "not a date"),             # dateutil fuzzy would make it the 3rd
    ("1900-01-01", "absurd"),
    ("9999-12-31 23:59", "absurd"),
    ("", "empty"),
]


@pytest.mark.parametrize("raw,reason", BAD, ids=[b[0] or "empty" for b in BAD])
def test_bad_dates_raise_with_reason(raw, reason):
    with pytest.raises(timestamps.TimestampError, match=reason):
        timestamps.parse(raw, zone=SHANGHAI, gathered_at=GATHERED)


def test_gathered_must_be_aware():
    with pytest.raises(ValueError):
        timestamps.parse("剛剛", zone=SHANGHAI, gathered_at=datetime(2020, 7, 1))
