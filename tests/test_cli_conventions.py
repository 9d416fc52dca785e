"""The command line behaves like a well-kept tool: --version, `-` for standard input, --as-of now, exit codes
in --help, results on stdout and errors on stderr, Ctrl-C exits 130 quietly, a closed pipe is not an error."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

import rmfhc
from conftest import ROOT
from rmfhc.cli import main

EXAMPLE = ROOT / "examples" / "dorset_child_in_care.json"
AS_OF = "2026-11-07T10:00Z"


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rmfhc", *args], capture_output=True, text=True, cwd=ROOT,
                          input=stdin, check=False, timeout=120)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out == f"rmfhc {rmfhc.__version__}\n"


@pytest.mark.parametrize("command", [[], ["evaluate"], ["validate"], ["test"]])
def test_help_lists_the_exit_codes(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main([*command, "--help"])
    out = capsys.readouterr().out
    for line in ("exit status:", "  0    success", "  1    what was checked is wrong", "  2    bad input or usage",
                 "  130  interrupted (Ctrl-C)"):
        assert line in out


def test_a_dash_reads_the_history_from_standard_input() -> None:
    from_file = run("evaluate", "-p", "dorset", "--as-of", AS_OF, str(EXAMPLE), "--format", "json")
    from_stdin = run("evaluate", "-p", "dorset", "--as-of", AS_OF, "-", "--format", "json",
                     stdin=EXAMPLE.read_text(encoding="utf-8"))
    assert from_stdin.returncode == 0, from_stdin.stderr
    assert from_stdin.stdout == from_file.stdout and from_stdin.stderr == ""


def test_bad_standard_input_is_named_stdin() -> None:
    done = run("evaluate", "-p", "dorset", "--as-of", AS_OF, "-", stdin='{"child": ')
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == "rmfhc evaluate: error: <stdin>:1:11: not valid JSON: Expecting value\n"


def test_as_of_now_is_the_current_time_in_utc(capsys: pytest.CaptureFixture[str]) -> None:
    before = datetime.now(UTC)
    assert main(["evaluate", "-p", "dorset", "--as-of", "now", str(EXAMPLE), "--format", "json"]) == 0
    as_of = datetime.fromisoformat(json.loads(capsys.readouterr().out)["as_of"])
    assert before - timedelta(seconds=1) <= as_of <= datetime.now(UTC) + timedelta(seconds=1)


def test_results_go_to_stdout_and_errors_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "-p", "dorset", "--as-of", AS_OF, str(EXAMPLE)]) == 0
    out, err = capsys.readouterr()
    assert out and err == ""
    assert main(["evaluate", "-p", "dorset", "--as-of", AS_OF, "no-such-history.json"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == "rmfhc evaluate: error: no-such-history.json: cannot read the file: no such file\n"


def test_an_unknown_option_is_a_usage_error_with_status_2() -> None:
    done = run("evaluate", "--no-such-option")
    assert done.returncode == 2 and "usage:" in done.stderr and "Traceback" not in done.stderr


INTERRUPTIBLE = """
import sys
from rmfhc.cli import main
print("ready", flush=True)
sys.exit(main(sys.argv[1:]))
"""


def test_ctrl_c_exits_130_without_a_traceback() -> None:
    process = subprocess.Popen([sys.executable, "-c", INTERRUPTIBLE, "evaluate", "-p", "dorset", "--as-of", AS_OF,
                                "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               cwd=ROOT, text=True)
    assert process.stdout is not None
    assert process.stdout.readline() == "ready\n"
    time.sleep(0.5)  # now waiting for the history on standard input
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert err == "" and out == ""


def test_a_closed_pipe_is_not_an_error() -> None:
    process = subprocess.Popen([sys.executable, "-m", "rmfhc", "compare", "--format", "html"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, cwd=ROOT)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.readline()  # like `| head -1`
    process.stdout.close()
    with process.stderr:
        err = process.stderr.read()
    assert process.wait(timeout=60) == 0
    assert err == b""
