"""Compiled packs are cached within a process by the content of the pack and of its vocabulary."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from conftest import PROTOCOLS
from rmfhc import load_protocol


def copy_pack(folder: Path, name: str = "dorset.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(PROTOCOLS / "vocabulary.yaml", folder / "vocabulary.yaml")
    shutil.copy(PROTOCOLS / "dorset.yaml", folder / name)
    return folder / name


def test_the_same_content_is_compiled_once_and_keeps_its_own_path(tmp_path: Path) -> None:
    first, second = copy_pack(tmp_path / "a"), copy_pack(tmp_path / "b", "renamed.yaml")
    one, two = load_protocol(first), load_protocol(second)
    assert one.rules is two.rules  # compiled once
    assert (one.path, two.path) == (str(first), str(second))
    assert load_protocol(first) is one


def test_an_edit_is_seen_even_with_the_same_modification_time(tmp_path: Path) -> None:
    path = copy_pack(tmp_path)
    before = load_protocol(path)
    stat = path.stat()
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("area: Dorset", "area: Dorset (edited)", 1), encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    after = load_protocol(path)
    assert (before.meta.area, after.meta.area) == ("Dorset", "Dorset (edited)")
    path.write_text(text, encoding="utf-8")  # back as it was: the first compiled pack again
    assert load_protocol(path).rules is before.rules


def test_an_edited_vocabulary_is_seen(tmp_path: Path) -> None:
    path = copy_pack(tmp_path)
    before = load_protocol(path)
    vocabulary = tmp_path / "vocabulary.yaml"
    text = vocabulary.read_text(encoding="utf-8")
    vocabulary.write_text(text.replace("duties:", "duties:\n  new_duty_kind: a duty added for this test", 1),
                          encoding="utf-8")
    after = load_protocol(path)
    assert "new_duty_kind" in after.vocabulary.duties and "new_duty_kind" not in before.vocabulary.duties
