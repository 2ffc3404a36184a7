"""A folder site for the benchmarks: a configuration in the README's terms
over an inbox of article files, written into a folder of their own."""

from __future__ import annotations

from pathlib import Path

CONFIG = """
[site]
title = "物流資訊網"
link = "https://news.example.com/"
feeds_url = "https://news.example.com/feeds/"
timezone = "Asia/Shanghai"
[output]
dir = "feeds"
[store]
url = "sqlite:///state/feedpub.db"
[[sources]]
name = "inbox"
type = "folder"
path = "inbox"
"""


def folder_site(root: Path, files: dict[str, str], more: str = "") -> Path:
    """root/inbox holding `files` (name -> text), root/feedpub.toml reading it
    (with `more` TOML after it: [serve], [[feeds]] …): the configuration's path."""
    inbox = root / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (inbox / name).write_text(text, encoding="utf-8")
    cfg = root / "feedpub.toml"
    cfg.write_text(CONFIG + more, encoding="utf-8")
    return cfg
