"""`feedpub build` with nothing new answers before loading the pipeline, and
never when anything a full build would act on has changed."""

from __future__ import annotations

import ast
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import GATHERED, configure, dump, edit_config
from feedpub import unchanged
from test_cli import feedpub

SKIPPED = "nothing changed since the last build"
A = dump("首頁 > 物流資訊 > 行業新聞", "第一篇", "2020/6/1 22:46:13", "來處", "正文。")


def build(site, *extra):
    r = feedpub("build", "--config", str(site.config_path), *extra)
    assert r.returncode == 0, r.stderr
    return r


@pytest.fixture
def built(site):
    site.write("a.txt", A)
    first = build(site)
    assert "1 new" in first.stdout and SKIPPED not in first.stdout
    return site


def test_a_second_build_with_nothing_new_skips_the_pipeline_and_still_records_the_run(built):
    site = built
    before = site.snapshot()
    r = build(site)
    assert SKIPPED in r.stdout and "0 new" in r.stdout and "1 unchanged file(s) skipped" in r.stdout
    assert site.snapshot() == before                        # not a byte of the output touched
    r = build(site)
    assert SKIPPED in r.stdout                              # recording the run kept the fingerprint valid
    db = sqlite3.connect(site.root / "state" / "feedpub.db")
    (count, success, new), = db.execute("SELECT runs, last_success, last_new FROM source_status").fetchall()
    db.close()
    assert count == 3 and success is not None and new == 0
    r = feedpub("status", "--config", str(site.config_path))
    assert r.returncode == 0 and "inbox" in r.stdout, r.stderr


@pytest.mark.parametrize("change", ["new file", "edited file", "touched file", "deleted file", "config",
                                    "deleted feed", "stray output", "pending"])
def test_any_change_a_full_build_would_act_on_runs_it(built, change):
    site = built
    if change == "new file":
        site.write("b.txt", dump("首頁 > 物流資訊 > 港口航運", "第二篇", "2020/6/2 10:00:00", "來處"))
    elif change == "edited file":
        site.write("a.txt", A.replace("第一篇", "第壹篇"))         # same size, same mtime as the crawler's
        os.utime(site.inbox / "a.txt", (GATHERED.timestamp() + 1,) * 2)
    elif change == "touched file":
        os.utime(site.inbox / "a.txt", (GATHERED.timestamp() + 60,) * 2)
    elif change == "deleted file":
        (site.inbox / "a.txt").unlink()
    elif change == "config":
        configure(site, max_items=40)
    elif change == "deleted feed":
        (site.out / "rss.xml").unlink()
    elif change == "stray output":
        (site.out / ".rss.xml.stale.1.tmp").write_text("half a file")
    elif change == "pending":                    # a crashed gather's changes, still to publish
        db = sqlite3.connect(site.root / "state" / "feedpub.db")
        db.execute("INSERT OR REPLACE INTO meta (name, value) VALUES ('publish_pending', ' crashed')")
        db.commit()
        db.close()
        os.utime(site.root / "state" / "feedpub.db.unchanged")   # the store stamp alone would not tell
        known = json.loads((site.root / "state" / "feedpub.db.unchanged").read_text())
        st = os.stat(site.root / "state" / "feedpub.db")
        known["store"] = [st.st_ino, st.st_size, st.st_mtime_ns]  # as if written while this build ran
        (site.root / "state" / "feedpub.db.unchanged").write_text(json.dumps(known))
    r = build(site)
    assert SKIPPED not in r.stdout, change
    if change == "new file":
        assert "1 new" in r.stdout and "第二篇" in (site.out / "rss.xml").read_text()
    if change == "edited file":
        assert "1 updated" in r.stdout and "第壹篇" in (site.out / "rss.xml").read_text()
    if change == "deleted feed":
        assert (site.out / "rss.xml").exists()
    if change == "pending":
        db = sqlite3.connect(site.root / "state" / "feedpub.db")
        assert not db.execute("SELECT value FROM meta WHERE name = 'publish_pending'").fetchone()[0].strip()
        db.close()
    assert SKIPPED in build(site).stdout, change         # and then quiet again


def test_a_build_with_problems_is_never_skipped(built):
    site = built
    site.write("bad.json", "{oops")
    for _ in range(2):
        r = build(site)
        assert SKIPPED not in r.stdout and "1 error(s)" in r.stdout   # reported every time, as before
    (site.inbox / "bad.json").unlink()
    build(site)
    assert SKIPPED in build(site).stdout


def test_full_always_builds(built):
    assert SKIPPED not in build(built, "--full").stdout


def test_no_fingerprint_where_it_cannot_vouch(site):
    site.write("a.txt", A)
    os.symlink(site.inbox / "a.txt", site.inbox / "a-link.dat")      # a link's target may change unseen
    build(site)
    assert SKIPPED not in build(site).stdout
    assert not (site.root / "state" / "feedpub.db.unchanged").exists()


def modules_after(site, *argv, env=None):
    """The feedpub and SQLAlchemy modules a `feedpub` process had imported when it ended, and its output."""
    probe = ("import sys\n"
             "from feedpub.command import main\n"
             "rc = main(sys.argv[1:])\n"
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('feedpub', 'sqlalchemy')))\n")
    r = subprocess.run([sys.executable, "-c", probe, *argv], capture_output=True, text=True, timeout=120,
                       env=env, cwd=site.root)
    assert r.returncode == 0, r.stderr
    *out, modules = r.stdout.splitlines()
    return "\n".join(out), set(ast.literal_eval(modules))


def test_nothing_new_is_answered_before_the_configuration_is_loaded(built):
    site = built
    out, modules = modules_after(site, "build", "-q", "--config", str(site.config_path))
    assert SKIPPED in out and f"feeds in {site.out}" in out
    assert modules == {"feedpub", "feedpub.command", "feedpub.unchanged", "feedpub.locations", "feedpub.report"}
    # The default configuration file, found from the working folder, as the README runs it.
    (site.root / "config").mkdir()
    os.replace(site.config_path, site.root / "config" / "feedpub.toml")
    text = (site.root / "config" / "feedpub.toml").read_text(encoding="utf-8")
    for old, new in (('"feeds"', '"../feeds"'), ('"inbox"', '"../inbox"'), ("sqlite:///state", "sqlite:///../state")):
        assert old in text
        text = text.replace(old, new)
    (site.root / "config" / "feedpub.toml").write_text(text, encoding="utf-8")
    out, modules = modules_after(site, "build")                 # another configuration: a build, once
    assert SKIPPED not in out and "0 new" in out and "sqlalchemy" in modules
    out, modules = modules_after(site, "build")
    assert SKIPPED in out and "feedpub.config" not in modules


def test_any_other_command_line_is_left_to_the_full_parser(built):
    site = built
    for argv in (["build", "-v", "-c", str(site.config_path)], ["build", "--config"], ["status"],
                 ["build", "-c", str(site.config_path), "-c", str(site.config_path)]):
        assert unchanged.build_command(argv) is None, argv
    assert unchanged.build_command(["build"]) == Path("config/feedpub.toml")
    assert unchanged.build_command(["build", "--quiet", f"--config={site.config_path}"]) == site.config_path
    out, modules = modules_after(site, "build", "-v", "--config", str(site.config_path))
    assert SKIPPED in out and "feedpub.config" in modules       # the same answer, the slow way


def test_a_record_is_used_only_with_the_configuration_and_home_it_was_made_with(built, tmp_path):
    site = built
    configure(site, summary_length=150)                   # the same store, another configuration
    r = build(site)
    assert SKIPPED not in r.stdout
    assert SKIPPED in build(site).stdout
    # A `~` in the configuration means another folder under another home: the record cannot vouch for it.
    home = tmp_path / "home"
    (home / "inbox").mkdir(parents=True)
    edit_config(site, source={"path": "~/inbox"})
    env = dict(os.environ, HOME=str(site.root))           # ~/inbox is the same folder as before
    out, _ = modules_after(site, "build", "--config", str(site.config_path), env=env)
    assert SKIPPED not in out
    assert SKIPPED in modules_after(site, "build", "--config", str(site.config_path), env=env)[0]
    out, _ = modules_after(site, "build", "--config", str(site.config_path), env=dict(env, HOME=str(home)))
    assert SKIPPED not in out and "0 unchanged file(s) skipped" in out    # an empty inbox, read as such
