"""The library's own error types. A user's mistake ends in one of these, never in a bare traceback."""

from __future__ import annotations

from dataclasses import dataclass


class RmfhcError(Exception):
    """Base class of every error rmfhc raises for bad input."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem found in a file: where it is and what is wrong, in plain words."""

    file: str
    line: int  # 1-based; 0 when unknown
    column: int  # 1-based; 0 when unknown
    message: str

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.column}: {self.message}"
        return f"{self.file}: {self.message}"


class PackError(RmfhcError):
    """A protocol pack could not be read or failed validation. `problems` lists every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.column))
        super().__init__("\n".join(str(p) for p in self.problems))


class HistoryError(RmfhcError):
    """A child's history is malformed or impossible (naive time, found before reported, overlaps...)."""


class EvaluationError(RmfhcError):
    """An evaluation was asked for something impossible, such as an as_of before the first episode."""


class ScenarioError(RmfhcError):
    """A scenario test file is malformed."""


class UsageError(RmfhcError, TypeError):
    """A function of the library was called with an argument of the wrong type, such as a dict or a pack
    name where `evaluate` needs a compiled Pack. Also a TypeError, as Python's own would be."""


def wrong_type(function: str, argument: str, needed: str, given: object) -> UsageError:
    """The UsageError for `function(argument=given)` when `needed` was expected."""
    return UsageError(f"{function}: {argument} must be {needed}, not {type(given).__name__}")
