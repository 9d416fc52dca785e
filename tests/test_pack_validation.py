"""Pack validation: every shipped pack passes; a mistake is reported at its file, line and column."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import PACK_NAMES, PROTOCOLS
from rmfhc import PackError, validate_pack
from rmfhc.cli import main
from rmfhc.models import EpisodeKind
from rmfhc.pack import unused_roles


def shipped() -> list[str]:
    return [name for name in PACK_NAMES if (PROTOCOLS / f"{name}.yaml").exists()]


@pytest.mark.parametrize("name", shipped())
def test_shipped_pack_validates(name: str) -> None:
    pack = validate_pack(PROTOCOLS / f"{name}.yaml")
    assert pack.id == name
    assert pack.rules


@pytest.mark.parametrize("name", shipped())
def test_every_role_a_pack_declares_is_used(name: str) -> None:
    assert unused_roles(validate_pack(PROTOCOLS / f"{name}.yaml")) == []


@pytest.mark.parametrize("name", shipped())
def test_every_pack_says_how_it_treats_every_episode_kind(name: str) -> None:
    pack = validate_pack(PROTOCOLS / f"{name}.yaml")
    assert sorted(pack.spec.episode_kinds) == sorted(EpisodeKind)


def test_all_five_packs_are_shipped() -> None:
    assert shipped() == list(PACK_NAMES)


def broken_copy(tmp_path: Path, old: str, new: str) -> Path:
    shutil.copy(PROTOCOLS / "vocabulary.yaml", tmp_path / "vocabulary.yaml")
    text = (PROTOCOLS / "dorset.yaml").read_text(encoding="utf-8")
    assert old in text, f"the test expects {old!r} in dorset.yaml"
    path = tmp_path / "dorset.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def location_of(path: Path, needle: str) -> tuple[int, int]:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number, line.index(needle) + 1
    raise AssertionError(needle)


def test_a_misspelt_key_is_reported_at_its_line_and_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = broken_copy(tmp_path, "    on_return:", "    on_retrun:")
    line, column = location_of(path, "on_retrun")
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:{line}:{column}: 'on_retrun' is not a key here" in err
    assert "Traceback" not in err


def test_a_bad_duration_is_reported_at_its_line_and_column(tmp_path: Path) -> None:
    path = broken_copy(tmp_path, "due: within 24 hours", "due: within 24 hourz")
    line, column = location_of(path, "within 24 hourz")
    with pytest.raises(PackError) as error:
        validate_pack(path)
    [problem] = error.value.problems
    assert (problem.line, problem.column) == (line, column)
    assert "is not a duration" in problem.message


def test_malformed_yaml_is_one_plain_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = broken_copy(tmp_path, "rules:", "rules: [")
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert "this is not valid YAML" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("duty: strategy_discussion\n", "duty: strategy_chat\n", "'strategy_chat' is not a duty kind"),
        ("child.looked_after: true", "child.lookedafter: true", "'child.lookedafter' is not a fact"),
        ("child.looked_after: true", "child.looked_after: yes", "child.looked_after is true or false"),
        ("roles: [", "roles: [nobody, ", "'nobody' is not one of this pack's roles"),
    ],
)
def test_cross_references_are_checked(tmp_path: Path, old: str, new: str, message: str) -> None:
    with pytest.raises(PackError, match=message.replace("[", r"\[").replace(".", r"\.")):
        validate_pack(broken_copy(tmp_path, old, new))


def test_a_duplicate_key_is_an_error(write_pack: object, tmp_path: Path) -> None:
    shutil.copy(PROTOCOLS / "vocabulary.yaml", tmp_path / "vocabulary.yaml")
    path = tmp_path / "p.yaml"
    path.write_text("protocol: {id: x}\nprotocol: {id: y}\n", encoding="utf-8")
    with pytest.raises(PackError, match=r"p.yaml:2:1: the key 'protocol' appears twice"):
        validate_pack(path)


def test_a_missing_pack_name_lists_the_known_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "no/such/pack.yaml"]) == 1
    assert "cannot read the file" in capsys.readouterr().err
