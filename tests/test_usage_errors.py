"""The public API raises only the library's own errors: arguments of the wrong type are a UsageError."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT
from rmfhc import (
    HistoryError,
    PackError,
    RmfhcError,
    UsageError,
    evaluate,
    load_history,
    load_protocol,
    read_history,
    validate_pack,
)

EXAMPLE = ROOT / "examples" / "dorset_child_in_care.json"
AS_OF = datetime(2026, 11, 7, 10, tzinfo=UTC)


def test_usage_error_is_the_librarys_own_and_a_type_error() -> None:
    assert issubclass(UsageError, RmfhcError) and issubclass(UsageError, TypeError)


@pytest.mark.parametrize(
    ("pack", "history", "as_of", "argument"),
    [
        ({"protocol": {"id": "dorset"}}, None, AS_OF, "pack"),  # a dict where a Pack is needed
        ("dorset", None, AS_OF, "pack"),  # a pack name
        (None, {"child": {}, "episodes": []}, AS_OF, "history"),  # the history as a dict, not validated
        (None, str(EXAMPLE), AS_OF, "history"),  # a history path
        (None, None, "2026-11-07T10:00Z", "as_of"),  # as_of as text
    ],
)
def test_evaluate_names_the_argument_of_the_wrong_type(pack: Any, history: Any, as_of: Any, argument: str) -> None:
    pack = load_protocol("dorset") if pack is None else pack
    history = read_history(EXAMPLE) if history is None else history
    with pytest.raises(UsageError, match=rf"^evaluate: {argument} must be .*, not (dict|str)$"):
        evaluate(pack, history, as_of)


def test_a_naive_as_of_is_still_an_evaluation_error() -> None:
    with pytest.raises(RmfhcError, match="UTC offset"):
        evaluate(load_protocol("dorset"), read_history(EXAMPLE), datetime(2026, 11, 7))


@pytest.mark.parametrize("data", [[], "history", None, 3, True, [{"child": {}}]])
def test_load_history_of_something_other_than_a_mapping(data: Any) -> None:
    with pytest.raises(HistoryError, match=r"^history: a history must be a mapping \(a JSON object\) with 'child' "
                                           r"and 'episodes', not "):
        load_history(data)


@pytest.mark.parametrize("function", [read_history, validate_pack, load_protocol])
@pytest.mark.parametrize("argument", [None, 3, b"protocols/dorset.yaml", {"path": "x"}])
def test_readers_given_something_other_than_a_path(function: Any, argument: Any) -> None:
    with pytest.raises(UsageError, match="must be"):
        function(argument)


def test_read_history_of_a_folder(tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match=rf"^{tmp_path}: this is a folder, not a history file$"):
        read_history(tmp_path)


def test_validate_pack_of_a_folder(tmp_path: Path) -> None:
    with pytest.raises(PackError, match=rf"^{tmp_path}: this is a folder, not a pack file$"):
        validate_pack(tmp_path)
