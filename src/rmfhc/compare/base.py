"""What every comparison module shares: the error it raises and the base of its typed results."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from ..errors import RmfhcError


class ComparisonError(RmfhcError):
    """A comparison was asked for something impossible: an unreadable revision, no histories, ..."""


class Result(BaseModel):
    """A comparison result: frozen, no extra keys, JSON with `model_dump_json`."""

    model_config = ConfigDict(frozen=True, extra="forbid")
