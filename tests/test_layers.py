"""The pipeline's layers, as pyproject.toml states them, checked with
import-linter: each stage imports only the layers below it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).parent / "lint-imports"


def lint(root: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(root / "src"))
    return subprocess.run([str(LINT), "--config", str(root / "pyproject.toml"), "--no-cache"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=120)


def test_the_layers_hold():
    r = lint(REPO)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "3 kept, 0 broken" in r.stdout


def test_config_importing_a_source_breaks_them(tmp_path):
    shutil.copytree(REPO / "src", tmp_path / "src", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    config = tmp_path / "src" / "feedpub" / "config.py"
    config.write_text(config.read_text() + "\n\ndef _reach_back():\n    from .sources import select  # noqa\n")
    r = lint(tmp_path)
    assert r.returncode != 0 and "feedpub.config -> feedpub.sources" in r.stdout, r.stdout[-3000:]


def test_the_store_tables_importing_a_job_module_breaks_them(tmp_path):
    shutil.copytree(REPO / "src", tmp_path / "src", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    schema = tmp_path / "src" / "feedpub" / "store" / "schema.py"
    schema.write_text(schema.read_text() + "\n\ndef _reach_up():\n    from .articles import Saved  # noqa\n")
    r = lint(tmp_path)
    assert r.returncode != 0 and "feedpub.store.schema -> feedpub.store.articles" in r.stdout, r.stdout[-3000:]


def test_every_source_type_the_configuration_accepts_has_one_class_of_one_shape():
    import inspect

    from feedpub.config import SOURCE_TYPES
    from feedpub.sources import TYPES, SourceType, source_type
    assert set(TYPES) == set(SOURCE_TYPES)
    for kind in SOURCE_TYPES:
        cls = source_type(kind)
        assert list(inspect.signature(cls).parameters)[:2] == ["settings", "site_link"], kind
        assert list(inspect.signature(cls.gather).parameters) == \
            list(inspect.signature(SourceType.gather).parameters), kind        # called by keyword
        assert len(inspect.signature(cls.read).parameters) == 2, kind         # self, the unit's task
        assert callable(cls.where) and callable(cls.memo) and isinstance(cls.local, bool), kind
