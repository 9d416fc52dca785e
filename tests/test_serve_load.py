"""The load test script, short: a few seconds of concurrent clients against a real server; no errors.

Timings are printed, never asserted: this machine is shared and its speed varies.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

import pytest

from conftest import ROOT
from serving import running


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("serve_load", ROOT / "benchmarks" / "serve_load.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


def test_a_short_load_test_runs_without_errors() -> None:
    script = load_script()
    with running("--workers", "2") as url:
        stats = script.run_load(url, seconds=3, clients=4)
    print(stats.report())
    assert stats.requests > 0 and stats.errors == 0, stats.first_error


@pytest.mark.parametrize("url", ["http://10.0.0.1:8000", "http://example.org", "http://192.168.1.2"])
def test_the_load_test_only_targets_this_machine(url: str) -> None:
    with pytest.raises(ValueError, match="only targets this machine"):
        load_script().loopback_only(url)
