"""Nothing lost, clear failures: a crashed or failed run is published by the
next one, hostile files cost one problem, and what cannot work says so in one
line with its documented exit status (cli.py's docstring, the README)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import feedparser
import pytest

from conftest import config_text, configure, dump, make_site, peak_build
from feedpub.build import build

HYXW = "首頁 > 物流資訊 > 行業新聞"
GKHY = "首頁 > 物流資訊 > 港口航運"


def feedpub(site, *args, config=None):
    return subprocess.run([sys.executable, "-m", "feedpub", *args, "--config", str(config or site.config_path)],
                          capture_output=True, text=True, timeout=300)


def big_feeds(site):
    configure(site, max_items=2000)


def everything_published(site, titles: set[str]) -> None:
    """Every article has its page, and is in its category feed and the all-feed."""
    pages = {p.relative_to(site.out).as_posix() for p in (site.out / "articles").rglob("*.html")}
    all_feed = site.feed("atom.xml").entries
    assert {e.title for e in all_feed} == titles
    for e in all_feed:
        assert e.link.removeprefix("https://news.example.com/feeds/") in pages, e.title
    by_category = {e.title for rel in ("wu-liu-zi-xun/hang-ye-xin-wen/atom.xml", "wu-liu-zi-xun/gang-kou-hang-yun/atom.xml")
                   for e in site.feed(rel).entries}
    assert by_category == titles


class Killed(BaseException):
    """What kill -9 does to a build: it stops, and nothing after it runs."""


@pytest.mark.slow
def test_a_build_killed_after_its_first_batch_is_published_by_the_next(site):
    big_feeds(site)
    site.write("first.txt", dump(HYXW, "第一篇", "2020/5/1 10:00:00", "來處"))
    site.write("second.txt", dump(GKHY, "第二篇", "2020/5/2 10:00:00", "來處"))
    site.build()                                 # the feeds and their categories exist, as on any day but the first
    for i in range(620):
        site.write(f"a{i:04d}.txt", dump(HYXW if i % 2 else GKHY, f"文章{i:04d}",
                                         f"2020/6/{i % 28 + 1} {i % 24}:{i % 60:02d}:00", "來處"))
    calls = []

    def stop_after_the_first_batch():
        calls.append(1)
        if len(calls) > 500:                 # the first 500 files are committed by now
            raise Killed()
    with pytest.raises(Killed):
        build(site.settings(), should_stop=stop_after_the_first_batch)
    assert [e.title for e in site.feed("atom.xml").entries] == ["第二篇", "第一篇"]   # died before it published
    site.write("late.txt", dump(GKHY, "無關的新文章", "2020/6/30 10:00:00", "來處"))
    site.build()
    titles = {f"文章{i:04d}" for i in range(620)} | {"無關的新文章", "第一篇", "第二篇"}
    everything_published(site, titles)


def test_a_failed_publish_is_published_by_the_next_run(site):
    site.write("a.txt", dump(HYXW, "甲", "2020/6/1 10:00:00", "來處"))
    site.write("b.txt", dump(GKHY, "乙", "2020/6/2 10:00:00", "來處"))
    site.out.parent.mkdir(parents=True, exist_ok=True)
    site.out.write_text("a file where the output folder should be")
    r = feedpub(site, "build")
    assert r.returncode == 3 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert str(site.out) in r.stderr and "a file of that name is in the way" in r.stderr
    assert "Traceback" not in r.stderr
    site.out.unlink()
    site.write("c.txt", dump(GKHY, "丙", "2020/6/3 10:00:00", "來處"))
    site.build()
    everything_published(site, {"甲", "乙", "丙"})


def test_a_gather_that_outlives_a_stop_ends_instead_of_waiting_to_render(site):
    """A stopping publisher closes its regenerations for good; a gather still
    running past the stop's grace time must end, not wait on them forever (the
    process would hang at exit), and what it stored is published next run."""
    from feedpub.coalesce import Regenerations
    site.write("a.txt", dump(HYXW, "甲", "2020/6/1 10:00:00", "來處"))
    closed = Regenerations()
    closed.close()                                      # what stop() does
    summary = site.build(regenerations=closed, should_stop=lambda: True)
    assert summary.articles["new"] == 1 and summary.written == 0
    assert not site.out.exists() or not any(site.out.rglob("*.xml"))
    site.write("b.txt", dump(GKHY, "乙", "2020/6/2 10:00:00", "來處"))
    site.build()
    everything_published(site, {"甲", "乙"})


@pytest.mark.slow
def test_a_yaml_bomb_is_one_problem_in_little_memory(site, tmp_path):
    good = dump(HYXW, "好文章", "2020/6/1 10:00:00", "來處")
    (tmp_path / "baseline").mkdir()
    baseline_site = make_site(tmp_path / "baseline")
    baseline_site.write("good.txt", good)
    baseline = peak_build(baseline_site.config_path)["rss_kb"]    # imports, dictionaries: the same for any build

    laughs = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi"):
        laughs.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    site.write("bomb.md", "---\n" + "\n".join(laughs) + "\ntitle: bomb\ncategories: *i\n---\nbody\n")
    site.write("good.txt", good)
    result = peak_build(site.config_path)
    assert result["new"] == 1 and [p[0] for p in result["problems"]] == ["bomb.md"]
    assert "alias" in result["problems"][0][1]
    assert result["rss_kb"] - baseline < 20 * 1024                  # the bomb costs (next to) nothing
    assert [e.title for e in site.feed().entries] == ["好文章"]


def test_front_matter_is_bounded(site):
    site.write("huge.md", "---\ntitle: t\nx: " + "y" * 70_000 + "\n---\nbody\n")
    summary = site.build()
    assert [p.location for p in summary.problems] == ["huge.md"] and "front matter" in summary.problems[0].reason


def _config(site, tmp_path, *, out=None, store=None) -> Path:
    text = config_text(site, output={} if out is None else {"dir": str(out)},
                       store={} if store is None else {"url": store})
    path = tmp_path / f"c{abs(hash((out, store)))}.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("store,status,words", [
    ("foo://x", 2, "no such database dialect"),
    ("mysql+mysqldb://u@127.0.0.1/x", 2, "driver is not installed"),
    ("postgresql+psycopg://nobody@127.0.0.1:1/x", 3, "cannot open store"),
])
def test_a_store_that_cannot_be_used_is_one_line(site, tmp_path, store, status, words):
    site.write("a.txt", dump(HYXW, "甲", "2020/6/1 10:00:00", "來處"))
    r = feedpub(site, "build", config=_config(site, tmp_path, store=store))
    assert r.returncode == status and words in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) <= 2           # psycopg's reason may take a second line
    r = feedpub(site, "check", config=_config(site, tmp_path, store=store))
    assert r.returncode == 3 and "problem:" in r.stdout, r.stdout


def test_a_corrupt_store_is_one_line_and_old_feeds_stay(site, tmp_path):
    site.write("a.txt", dump(HYXW, "甲", "2020/6/1 10:00:00", "來處"))
    site.build()
    before = site.snapshot()
    db = site.root / "state" / "feedpub.db"
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    db.write_bytes(b"\x13not a database" * 400)
    r = feedpub(site, "build")
    assert r.returncode == 3 and "file is not a database" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert site.snapshot() == before


@pytest.fixture
def tmpfs(tmp_path):
    """A small file system of our own, to fill up or make read-only (needs root's mount)."""
    made = []

    def mount(name, *options):
        where = tmp_path / name
        where.mkdir()
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs", str(where)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({r.stderr.strip()}): run as root to test a full or read-only disk")
        made.append(where)
        return where
    yield mount
    for where in made:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


@pytest.mark.slow
def test_a_full_disk_is_one_line_and_old_feeds_stay(site, tmp_path, tmpfs):
    disk = tmpfs("disk", "size=1m")
    site.write("a.txt", dump(HYXW, "甲", "2020/6/1 10:00:00", "來處"))
    cfg = _config(site, tmp_path, out=disk)
    assert feedpub(site, "build", config=cfg).returncode == 0
    before = {p: p.read_bytes() for p in disk.rglob("*") if p.is_file()}
    with open(disk / "filler", "wb", buffering=0) as f:         # fill what is left
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError:
            pass
    site.write("b.txt", dump(HYXW, "乙", "2020/6/2 10:00:00", "來處", "正文。" * 2000))
    r = feedpub(site, "build", config=cfg)
    assert r.returncode == 3 and "No space left on device" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    after = {p: p.read_bytes() for p in disk.rglob("*") if p.is_file() and p.name != "filler"}
    assert after == before                                       # no temporary file left, old feeds whole
    (disk / "filler").unlink()
    assert feedpub(site, "build", config=cfg).returncode == 0
    assert {e.title for e in feedparser.parse((disk / "rss.xml").read_bytes()).entries} == {"甲", "乙"}


@pytest.mark.slow
def test_a_read_only_disk_is_one_line(site, tmp_path, tmpfs):
    ro = tmpfs("ro", "ro", "size=64k")
    site.write("a.txt", dump(HYXW, "甲", "2020/6/1 10:00:00", "來處"))
    for cfg, words in ((_config(site, tmp_path, out=ro), "Read-only file system"),
                       (_config(site, tmp_path, store=f"sqlite:///{ro}/sub/s.db"), "Read-only file system")):
        r = feedpub(site, "build", config=cfg)
        assert r.returncode == 3 and words in r.stderr and "Traceback" not in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
        r = feedpub(site, "check", config=cfg)
        assert r.returncode == 3 and "problem:" in r.stdout


@pytest.mark.slow
def test_an_output_folder_made_read_only_after_publishing_is_one_line(site, tmp_path, tmpfs):
    """Feeds published, then the folder made read-only (a remount, a full
    quota, a permissions change): a new article is exit 3 and one line
    naming the folder, for `build` as for every tick of `run`; the feeds
    already there are unchanged."""
    out = tmpfs("out", "size=1m")
    cfg = _config(site, tmp_path, out=out)
    site.write("a.txt", dump(HYXW, "甲", "2020/6/1 10:00:00", "來處"))
    assert feedpub(site, "build", config=cfg).returncode == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    subprocess.run(["mount", "-o", "remount,ro", str(out)], check=True)
    site.write("b.txt", dump(HYXW, "乙", "2020/6/2 10:00:00", "來處"))
    r = feedpub(site, "build", config=cfg)
    assert r.returncode == 3 and "Traceback" not in r.stderr, r.stderr
    (line,) = r.stderr.strip().splitlines()
    assert line.startswith(f"feedpub: cannot publish: {out}/") and "Read-only file system" in line, line
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


# -- leftovers and odd files ---------------------------------------------------------------------

def test_temp_files_of_a_dead_writer_go_at_once(site):
    site.write("a.txt", dump(HYXW, "甲", "2020/6/1 10:00:00", "來處"))
    site.build()
    from feedpub import publish
    dead = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
        from pathlib import Path
        from feedpub import publish
        print(publish._temp_copy(Path({str(site.out / 'rss.xml')!r}), b"half", fsync=False))
    """)], capture_output=True, text=True, check=True).stdout.strip()       # its writer has exited
    alive = publish._temp_copy(site.out / "atom.xml", b"in progress", fsync=False)   # this process's
    assert Path(dead).exists() and Path(alive).exists()
    r = feedpub(site, "build")
    assert r.returncode == 0, r.stderr
    assert not Path(dead).exists() and Path(alive).exists()
    Path(alive).unlink()


def test_links_that_lead_nowhere_are_reported(site):
    (site.inbox / "dangling.txt").symlink_to(site.inbox / "gone.txt")
    (site.inbox / "loop.txt").symlink_to(site.inbox / "loop.txt")
    site.write("good.txt", dump(HYXW, "好文章", "2020/6/1 10:00:00", "來處"))
    summary = site.build()
    reasons = {p.location: p.reason for p in summary.problems}
    assert "does not exist" in reasons["dangling.txt"] and "loop" in reasons["loop.txt"]
    assert [e.title for e in site.feed().entries] == ["好文章"]


def test_a_file_name_that_is_not_utf8_still_publishes(site):
    name = os.fsdecode(b"\xb9\xfa\xbc\xd2.txt")                       # GBK bytes in a name, on a UTF-8 system
    with open(os.fsencode(site.inbox) + b"/" + os.fsencode(name), "wb") as f:
        f.write(dump(HYXW, "名字不是UTF8", "2020/6/1 10:00:00", "來處").encode("utf-8"))
    summary = site.build()
    assert [e.title for e in site.feed().entries] == ["名字不是UTF8"]
    assert [p.location for p in summary.problems] == ["\\xb9\\xfa\\xbc\\xd2.txt"]
    assert "not valid UTF-8" in summary.problems[0].reason
    assert site.build().files_read == 0                                # and it is not read again


@pytest.mark.parametrize("kind,data", [
    ("zip", b"PK\x03\x04" + bytes(range(256)) * 4),
    ("gzip", __import__("gzip").compress("當前位置: 首頁 > 物流資訊\n\n標題\n".encode(), mtime=0)),
    ("PNG", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100),
    ("ELF executable", b"\x7fELF\x02\x01\x01" + b"\x00" * 100),
], ids=["zip", "gzip", "png", "elf"])
def test_a_binary_file_named_txt_is_reported_not_published(site, kind, data):
    site.write("junk.txt", data)
    site.write("good.txt", dump(HYXW, "好文章", "2020/6/1 10:00:00", "來處"))
    summary = site.build()
    assert [(p.location, kind in p.reason) for p in summary.problems] == [("junk.txt", True)]
    assert [e.title for e in site.feed().entries] == ["好文章"]


def test_a_gbk_page_labelled_latin1_decodes_right():
    from feedpub.sources import decode
    page = "<html><head><title>港口新聞</title></head><body><p>中歐班列開行數量同比增長，港口吞吐量創新高。</p></body></html>"
    data = page.encode("gbk")
    assert not set(data) & set(b"\x81\x8d\x8f\x90\x9d")          # every byte is a cp1252 character
    got = decode.decode_declared(data, ["iso-8859-1", None])
    assert "中歐班列開行數量同比增長" in got.text
    latin = "<p>Café, naïve, déjà vu: the label is right here.</p>".encode("latin-1")
    assert decode.decode_declared(latin, ["iso-8859-1"]).text == latin.decode("latin-1")
