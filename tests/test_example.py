"""The bundled example (config/ + examples/) builds cleanly, as the README promises."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import feedparser
from lxml import etree

from feedpub import config
from feedpub.build import build
from conftest import wait_for

REPO = Path(__file__).resolve().parent.parent


def test_bundled_example_builds(tmp_path):
    shutil.copytree(REPO / "config", tmp_path / "config")
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    settings = config.load(tmp_path / "config" / "feedpub.toml")
    assert settings.output.dir == tmp_path / "feeds"
    summary = build(settings)
    assert summary.errors == 0 and summary.warnings == 0
    assert summary.articles["new"] == 8
    all_feed = feedparser.parse((tmp_path / "feeds" / "atom.xml").read_bytes())
    assert not all_feed.bozo and len(all_feed.entries) == 8
    industry = feedparser.parse((tmp_path / "feeds" / "logistics" / "industry" / "rss.xml").read_bytes())
    assert industry.feed.title == "物流資訊網: 物流資訊 › 行業新聞"
    assert {e.title for e in industry.entries} == {"5月全國物流業景氣指數回升至53.2% 快遞業務量連續三個月增長",
                                                  "西部陆海新通道班列开行数量同比增长"}


def _first_command() -> str:
    readme = (REPO / "README.md").read_text()
    block = readme.split("```sh\n", 1)[1].split("```", 1)[0]
    return block.splitlines()[0]


def test_the_example_is_served_where_its_links_point(tmp_path):
    """After the README's first command, every link of the index and the OPML
    works on this machine: feeds_url is where that command serves."""
    command = _first_command()
    address = re.search(r"--serve (\S+)", command).group(1)
    settings = config.load(REPO / "config" / "feedpub.toml")
    assert settings.site.feeds_url == f"http://{address}/"
    shutil.copytree(REPO / "config", tmp_path / "config")
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    build(config.load(tmp_path / "config" / "feedpub.toml"))
    for name in ("feeds.opml", "feeds-atom.opml", "everything.opml"):
        for o in etree.parse(str(tmp_path / "feeds" / name)).iter("outline"):
            for attr in ("xmlUrl", "htmlUrl"):
                if o.get(attr):
                    rel = o.get(attr).removeprefix(f"http://{address}/")
                    assert (tmp_path / "feeds" / rel).is_file(), o.get(attr)
    index = (tmp_path / "feeds" / "index.html").read_text()
    for href in re.findall(r'<a href="([^"]+)"', index):
        assert not href.startswith(("http:", "https:")), href
        assert (tmp_path / "feeds" / href).is_file(), href


def test_the_first_command_publishes_a_dropped_file(tmp_path):
    """The README's promise: with `feedpub run` going, an article file dropped
    into examples/inbox/ is published (the bundled source is watched)."""
    assert "feedpub run" in _first_command()
    shutil.copytree(REPO / "config", tmp_path / "config")
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    cfg = tmp_path / "config" / "feedpub.toml"
    assert config.load(cfg).sources[0].watch
    cfg.write_text(cfg.read_text().replace('every = "5m"', 'every = "1h"'))
    out = tmp_path / "feeds" / "rss.xml"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "feedpub", "run", "--config", str(cfg)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        wait_for(lambda: out.exists() and len(feedparser.parse(out.read_bytes()).entries) == 8, timeout=60)
        incoming = tmp_path / "new.txt.part"
        incoming.write_text("當前位置: 首頁 > 物流資訊 > 行業新聞 > 新到的文章\n\n新到的文章\n\n2020/6/11 09:00:00\n\n正文。\n",
                            encoding="utf-8")
        os.replace(incoming, tmp_path / "examples" / "inbox" / "new.txt")
        wait_for(lambda: "新到的文章" in {e.title for e in feedparser.parse(out.read_bytes()).entries}, timeout=60)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
