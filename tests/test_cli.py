"""The command line as a user runs it: real processes, real files, exit codes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import dump


def feedpub(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "feedpub", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


def test_build_then_check(site):
    site.write("a.txt", dump("首頁 > 物流資訊 > 行業新聞", "標題", "2020/6/1 22:46:13", "來處"))
    site.write("bad.json", "{oops")
    r = feedpub("build", "--config", str(site.config_path))
    assert r.returncode == 0, r.stderr
    assert "1 new" in r.stdout and "1 error(s)" in r.stdout
    assert str(site.inbox / "bad.json") in r.stderr and "not valid JSON" in r.stderr
    assert (site.out / "wu-liu-zi-xun/hang-ye-xin-wen/atom.xml").exists()
    r = feedpub("check", "--config", str(site.config_path))
    assert r.returncode == 0, r.stderr
    assert "物流資訊 › 行業新聞  ->  wu-liu-zi-xun/hang-ye-xin-wen/" in r.stdout
    assert "2 article file(s)" in r.stdout
    assert f"error: {site.inbox / 'bad.json'}: not valid JSON" in r.stdout and "problems: 1" in r.stdout


def test_check_reports_what_build_reports(site):
    """`feedpub check` reads through the same gather as `build` (the same
    options, the same folder scan), so it names the same problems."""
    site.write("a.txt", dump("首頁 > 物流資訊 > 行業新聞", "標題", "2020/6/1 22:46:13", "來處"))
    (site.inbox / "gone.txt").symlink_to(site.inbox / "nowhere.txt")      # a link that leads nowhere
    site.write("b.txt", dump("首頁 > 物流資訊 > 行業新聞", "", "2020/6/1 22:46:13", "來處"))   # no title
    built = feedpub("build", "--config", str(site.config_path))
    checked = feedpub("check", "--config", str(site.config_path))
    assert checked.returncode == 0, checked.stderr
    for name in ("gone.txt", "b.txt"):
        assert name in built.stderr and name in checked.stdout, (name, built.stderr, checked.stdout)
    assert "problems: 2" in checked.stdout


@pytest.mark.parametrize("edit,message", [
    (lambda c: c.replace('max_items = 50', 'max_itmes = 50'), "output.max_itmes: unknown key"),
    (lambda c: c.replace('"Asia/Shanghai"', '"Asia/Shangai"'), "site.timezone: unknown time zone 'Asia/Shangai'"),
    (lambda c: c.replace('path = "inbox"', 'path = "nowhere"'), "path: no such folder"),
    (lambda c: c.replace('feeds_url = "https://news.example.com/feeds/"', 'feeds_url = "news.example.com"'),
     "site.feeds_url: must be an absolute http(s) URL"),
    (lambda c: c.replace('type = "folder"', 'type = "ftp"'), "unknown source type 'ftp'"),
    (lambda c: c + "\n[categories.x]\nslug = '../../etc'\n", "must be lowercase ASCII"),
    (lambda c: c.replace("[output]", "[output"), "not valid TOML"),
    (lambda c: c.replace('path = "inbox"', 'path = "inbox"\nrescan = "often"'), "sources[0] (inbox).rescan: must be a duration"),
])
def test_a_wrong_configuration_stops_with_one_clear_message(site, edit, message):
    site.config_path.write_text(edit(site.config_path.read_text()))
    r = feedpub("build", "--config", str(site.config_path))
    assert r.returncode == 2
    assert message in r.stderr and str(site.config_path) in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not site.out.exists()


def test_missing_configuration_file(tmp_path):
    r = feedpub("build", "--config", str(tmp_path / "none.toml"))
    assert r.returncode == 2 and "no such configuration file" in r.stderr


def test_status_reads_the_store(site):
    import json
    site.write("a.txt", dump("首頁 > 物流資訊 > 行業新聞", "標題", "2020/6/1 22:46:13", "來處"))
    site.write("bad.json", "{oops")
    assert feedpub("build", "--config", str(site.config_path)).returncode == 0
    r = feedpub("status", "--json", "--config", str(site.config_path))
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["sources"] == [dict(doc["sources"][0], source="inbox", articles=1, open_errors=1)]
    r = feedpub("status", "--config", str(site.config_path))
    assert "inbox" in r.stdout and "articles 1" in r.stdout and "problems now: 1 error(s)" in r.stdout
    assert "last success never" not in r.stdout and "1 new" in r.stdout      # the build's run is kept
    assert doc["sources"][0]["last_new"] == 1 and doc["sources"][0]["last_success"]


def _on_a_terminal(*args) -> str:
    """Run feedpub with a pseudo-terminal as its stdout and stderr; all it wrote."""
    import os
    import pty
    import subprocess
    import sys
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "feedpub", *args], stdout=follower, stderr=follower,
                            stdin=subprocess.DEVNULL)
    os.close(follower)
    out = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    proc.wait(timeout=300)
    os.close(leader)
    return out.decode("utf-8", "replace")


@pytest.mark.slow
def test_a_long_build_on_a_terminal_shows_its_progress(tmp_path):
    from conftest import make_site
    labels = ("files read", "articles stored", "files written")
    runs = []
    for n, (how, extra) in enumerate((("tty", []), ("tty", ["-q"]), ("pipe", []))):
        (tmp_path / str(n)).mkdir()
        site = make_site(tmp_path / str(n))
        for i in range(3000):                              # a few seconds of work: past the display's first second
            site.write(f"{i:05d}.txt", dump("首頁 > 物流資訊 > 行業新聞", f"文章{i:05d}", f"2020/6/{i % 28 + 1} 10:00:00",
                                            "來處", "正文。" * 20))
        args = ["build", "--config", str(site.config_path), *extra]
        if how == "tty":
            runs.append(_on_a_terminal(*args))
        else:
            r = feedpub(*args)
            runs.append(r.stdout + r.stderr)
    shown, quiet, piped = runs
    assert all(label in shown for label in labels) and "3000 new" in shown
    assert not any(label in quiet for label in labels) and "3000 new" in quiet
    assert not any(label in piped for label in labels)
