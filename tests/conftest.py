"""Shared fixtures: every test gets its own workspace, never the user's."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _isolated_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "workspace"
    monkeypatch.setenv("DEEPRULES_HOME", str(home))
    monkeypatch.delenv("DEEPRULES_DB_URL", raising=False)
    monkeypatch.setenv("PYTHONPATH", str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return home


@pytest.fixture
def workspace(_isolated_workspace: Path):
    from deeprules_core.store import Workspace

    return Workspace(_isolated_workspace)
