"""Naming packs on the command line: a name, a path, or `PATH@REV` / `NAME@REV` for a git revision."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from ..errors import PackError, Problem
from ..pack import Pack, load_protocol, protocol_dirs, resolve_protocol, validate_pack
from .base import ComparisonError


def _git_show(folder: Path, rev: str, name: str) -> bytes | None:
    """The file `name` in `folder` at revision `rev`, or None when it is not there at that revision."""
    try:
        done = subprocess.run(["git", "-C", str(folder), "show", f"{rev}:./{name}"],
                              capture_output=True, check=False, timeout=60)
    except FileNotFoundError:
        raise ComparisonError("git is not installed; PATH@REV needs git") from None
    except subprocess.TimeoutExpired:
        raise ComparisonError(f"git show {rev}:{name} took too long") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        if message and ("does not exist" in message[0] or "exists on disk, but not in" in message[0]):
            return None
        reason = message[0] if message else "git failed"
        raise ComparisonError(f"cannot read {folder / name} at {rev}: {reason}")
    return done.stdout


def _current_vocabulary(folder: Path) -> Path:
    for candidate in [folder, *protocol_dirs()]:
        if (candidate / "vocabulary.yaml").is_file():
            return candidate / "vocabulary.yaml"
    raise ComparisonError("cannot find protocols/vocabulary.yaml")


def _relabel(error: PackError, temporary: str, label: str) -> PackError:
    return PackError([Problem(label if p.file == temporary else p.file, p.line, p.column, p.message)
                      for p in error.problems])


def load_at_revision(path: Path, rev: str, label: str | None = None) -> Pack:
    """Load and validate a pack as it was at a git revision (with the vocabulary of that revision if any)."""
    label = label or f"{path}@{rev}"
    if not rev or rev.startswith("-"):
        raise ComparisonError(f"'{rev}' is not a git revision")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ComparisonError(f"{label}: the folder {folder} does not exist")
    text = _git_show(folder, rev, path.name)
    if text is None:
        raise ComparisonError(f"{label}: {path} is not in revision {rev}")
    vocabulary = _git_show(folder, rev, "vocabulary.yaml")
    with tempfile.TemporaryDirectory(prefix="rmfhc-diff-") as tmp:
        target = Path(tmp) / path.name
        target.write_bytes(text)
        if vocabulary is not None:
            (Path(tmp) / "vocabulary.yaml").write_bytes(vocabulary)
        else:
            shutil.copyfile(_current_vocabulary(folder), Path(tmp) / "vocabulary.yaml")
        try:
            return validate_pack(target)
        except PackError as error:
            raise _relabel(error, str(target), label) from None


def load_pack_ref(ref: str) -> Pack:
    """A pack from a name, a path, or `PATH@REV` / `NAME@REV` for a git revision (git show REV:PATH)."""
    if Path(ref).is_file() or "@" not in ref:
        return load_protocol(ref)
    where, rev = ref.rsplit("@", 1)
    return load_at_revision(resolve_protocol(where), rev, ref)

