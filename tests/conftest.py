"""Shared fixtures: paths to the repository, the seeds, and a small pack written for engine tests."""

from __future__ import annotations

import os
import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROTOCOLS = ROOT / "protocols"
# The source documents and inventories live beside the repository in ../shared (CI has them; a user's clone
# does not). RMFHC_SHARED names the folder and says it must be there: .ci/run sets it, so that losing the
# documents fails CI instead of silently skipping the citation tests.
SHARED = Path(os.environ.get("RMFHC_SHARED") or ROOT.parent / "shared")
SEEDS = SHARED / "seeds"
SHARED_REQUIRED = bool(os.environ.get("RMFHC_SHARED"))


def need_shared(*names: str) -> None:
    """Skip (or, when RMFHC_SHARED is set, fail) unless these files of the shared folder exist."""
    missing = [name for name in names if not (SHARED / name).exists()]
    if not missing:
        return
    reason = f"needs the source documents: {', '.join(str(SHARED / m) for m in missing)} not found"
    if SHARED_REQUIRED:
        pytest.fail(reason + " (RMFHC_SHARED is set, so they must be there)", pytrace=False)
    pytest.skip(reason)
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
