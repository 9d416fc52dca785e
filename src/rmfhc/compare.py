"""Comparison of packs for auditors (rmfhc compare, rmfhc diff)."""

from __future__ import annotations

import argparse
from typing import Any


def add_commands(sub: Any) -> None:
    """Register the auditors' subcommands (filled in by the comparison work)."""
    _ = argparse
    return None
