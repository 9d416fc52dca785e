"""A normal install from the built wheel, outside the checkout, ships the packs and the vocabulary.

Builds the wheel, installs it into a fresh virtual environment in a temporary folder and runs
`rmfhc evaluate --protocol dorset` there, from a folder with no protocols/ in it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from conftest import ROOT


def run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the rmfhc wheel installed; its bin folder."""
    work = tmp_path_factory.mktemp("install")
    run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", work / "dist", ROOT, cwd=work)
    [wheel] = (work / "dist").glob("rmfhc-*.whl")
    venv.create(work / "env", with_pip=False)
    python = work / "env" / "bin" / "python"
    # This pip installs into the new environment (pip's --python); dependencies come from its cache or index.
    # With every extra, so that each module can be imported; the core commands need none of them.
    run(sys.executable, "-m", "pip", "--python", python, "install", "-q", f"{wheel}[serve,calendar,timeline,charts]",
        cwd=work)
    return work / "env" / "bin"


def test_the_wheel_contains_every_pack_and_the_vocabulary(installed: Path, tmp_path: Path) -> None:
    code = ("from rmfhc import available_protocols; from rmfhc.pack import shipped_protocols, load_vocabulary;"
            "print(available_protocols()); print(shipped_protocols());"
            "print(len(load_vocabulary(shipped_protocols() / 'vocabulary.yaml').duties))")
    out = run(installed / "python", "-c", code, cwd=tmp_path).stdout.splitlines()
    assert out[0] == str(["derby_derbyshire", "dorset", "durham", "medway", "pan_cheshire"])
    assert "site-packages" in out[1] and str(ROOT) not in out[1]
    assert int(out[2]) > 20


def test_every_subpackage_is_in_the_wheel(installed: Path, tmp_path: Path) -> None:
    modules = sorted(".".join(p.relative_to(ROOT / "src").with_suffix("").parts)
                     for p in (ROOT / "src" / "rmfhc").rglob("*.py") if p.name != "__main__.py")
    modules = [m.removesuffix(".__init__") for m in modules]
    code = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\nprint('ok')"
    assert run(installed / "python", "-c", code, *modules, cwd=tmp_path).stdout.strip() == "ok"


def test_evaluate_dorset_from_the_installed_wheel(installed: Path, tmp_path: Path) -> None:
    history = tmp_path / "history.json"
    history.write_text((ROOT / "examples" / "dorset_child_in_care.json").read_text(encoding="utf-8"))
    result = run(installed / "rmfhc", "evaluate", "--protocol", "dorset", "--as-of", "2026-11-07T10:00Z",
                 history, "--format", "json", cwd=tmp_path)
    data = json.loads(result.stdout)
    assert data["protocol"] == "dorset"
    assert data["duties"]


def test_compare_from_the_installed_wheel(installed: Path, tmp_path: Path) -> None:
    result = run(installed / "rmfhc", "compare", "--area", "dorset", "--duty", "strategy_discussion", cwd=tmp_path)
    assert "Strategy discussion" in result.stdout and "Dorset" in result.stdout
