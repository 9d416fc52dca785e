"""Shared fixtures: paths to the repository, the seeds, and a small pack written for engine tests."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROTOCOLS = ROOT / "protocols"
SHARED = ROOT.parent / "shared"
SEEDS = SHARED / "seeds"
PACK_NAMES = ("derby_derbyshire", "pan_cheshire", "medway", "dorset", "durham")


@pytest.fixture
def write_pack(tmp_path: Path) -> Callable[[str], Path]:
    """Write a pack (YAML text) into a folder with the vocabulary beside it; return its path."""

    def write(text: str, name: str = "test_pack.yaml") -> Path:
        shutil.copy(PROTOCOLS / "vocabulary.yaml", tmp_path / "vocabulary.yaml")
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write
