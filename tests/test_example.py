"""The bundled example (config/ + examples/) builds cleanly, as the README promises."""

from __future__ import annotations

import shutil
from pathlib import Path

import feedparser

from feedpub import config
from feedpub.build import build

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
