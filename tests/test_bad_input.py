"""Bad input of every named kind is refused with one plain line naming the file and the place, exit status 2,
quickly and in bounded memory (issue 10).

Each case runs the command line in a fresh interpreter that reports how long `main()` took and the peak
resident memory of the process (resource.getrusage), so the bounds are measured, not assumed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import PROTOCOLS, ROOT
from rmfhc import _read

EXAMPLE = ROOT / "examples" / "dorset_child_in_care.json"
AS_OF = "2026-11-07T10:00Z"
SECONDS = 2.0  # the bound on main() for a refusal
MEGABYTES = 500  # the bound on the whole process's peak memory

# Runs main() and writes "seconds peak-kilobytes" to the file named first (stderr stays the tool's own).
WRAPPER = """
import resource, sys, time
from rmfhc.cli import main
start = time.perf_counter()
code = main(sys.argv[2:])
seconds = time.perf_counter() - start
try:  # this process's own high-water mark: ru_maxrss keeps the forking parent's peak across exec on Linux
    status = open("/proc/self/status").read()
    peak = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))
except (OSError, StopIteration):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak = peak // 1024 if sys.platform == "darwin" else peak
with open(sys.argv[1], "w") as out:
    out.write(f"{seconds} {peak}")
sys.exit(code)
"""


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    megabytes: float


def run_cli(tmp_path: Path, *args: str, stdin: bytes | None = None) -> Run:
    measures = tmp_path / "measures.txt"
    done = subprocess.run([sys.executable, "-c", WRAPPER, str(measures), *args], capture_output=True,
                          input=stdin, cwd=ROOT, check=False, timeout=120)
    seconds, peak = measures.read_text(encoding="utf-8").split()
    return Run(done.returncode, done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace"),
               float(seconds), int(peak) / 1024)


def assert_refused(run: Run, line: str) -> None:
    """Exit 2, nothing on stdout, exactly one line on stderr equal to `line`, within the time and memory."""
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    assert run.stderr.splitlines() == [line]
    assert run.stdout == ""
    assert run.seconds < SECONDS, f"took {run.seconds:.2f} s"
    assert run.megabytes < MEGABYTES, f"peak {run.megabytes:.0f} MB"


def evaluate_history(tmp_path: Path, content: bytes) -> tuple[Run, Path]:
    path = tmp_path / "history.json"
    path.write_bytes(content)
    return run_cli(tmp_path, "evaluate", "--protocol", "dorset", "--as-of", AS_OF, str(path)), path


def pack_copy(tmp_path: Path, content: bytes) -> Path:
    shutil.copy(PROTOCOLS / "vocabulary.yaml", tmp_path / "vocabulary.yaml")
    path = tmp_path / "pack.yaml"
    path.write_bytes(content)
    return path


def evaluate_pack(tmp_path: Path, content: bytes) -> tuple[Run, Path]:
    path = pack_copy(tmp_path, content)
    return run_cli(tmp_path, "evaluate", "--protocol", str(path), "--as-of", AS_OF, str(EXAMPLE)), path


HISTORY = EXAMPLE.read_text(encoding="utf-8")
DORSET = (PROTOCOLS / "dorset.yaml").read_text(encoding="utf-8")


# --- encodings -----------------------------------------------------------------------------------------


def first_non_ascii(content: bytes) -> tuple[int, int, int]:
    """Offset, line and column (in characters) of the first byte that is not ASCII."""
    offset = next(i for i, byte in enumerate(content) if byte >= 0x80)
    line_start = content.rfind(b"\n", 0, offset) + 1
    return offset, content[:offset].count(b"\n") + 1, offset - line_start + 1


def test_a_latin1_history_names_the_byte_its_offset_and_place(tmp_path: Path) -> None:
    content = HISTORY.replace('"id": "example-1"', '"id": "Zoë"', 1).encode("latin-1")
    offset, line, column = first_non_ascii(content)
    run, path = evaluate_history(tmp_path, content)
    assert_refused(run, f"rmfhc evaluate: error: {path}:{line}:{column}: not UTF-8 text: byte 0xeb at offset "
                        f"{offset} (it looks like Latin-1 or Windows-1252); save the file as UTF-8")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_a_utf16_or_utf32_history_with_a_byte_order_mark_is_named(tmp_path: Path, encoding: str) -> None:
    content = HISTORY.encode(encoding)
    if encoding == "utf-16-be":
        content = b"\xfe\xff" + content
    run, path = evaluate_history(tmp_path, content)
    name = "UTF-32" if encoding == "utf-32" else "UTF-16"
    assert_refused(run, f"rmfhc evaluate: error: {path}: not UTF-8 text: it is {name} (it starts with a {name} "
                        "byte-order mark); save the file as UTF-8")


def test_a_utf16_history_without_a_byte_order_mark_is_named(tmp_path: Path) -> None:
    run, path = evaluate_history(tmp_path, HISTORY.encode("utf-16-le"))
    assert_refused(run, f"rmfhc evaluate: error: {path}: not UTF-8 text: it looks like UTF-16 without a "
                        "byte-order mark (every other byte is 0); save the file as UTF-8")


def test_invalid_utf8_bytes_are_named(tmp_path: Path) -> None:
    content = HISTORY.encode("utf-8").replace(b'"example-1"', b'"\x81\x8d example-1"', 1)
    offset, line, column = first_non_ascii(content)
    run, path = evaluate_history(tmp_path, content)
    assert_refused(run, f"rmfhc evaluate: error: {path}:{line}:{column}: not UTF-8 text: byte 0x81 at offset "
                        f"{offset}; save the file as UTF-8")


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    run, _ = evaluate_history(tmp_path, b"\xef\xbb\xbf" + HISTORY.encode("utf-8"))
    assert run.returncode == 0, run.stderr
    path = pack_copy(tmp_path, b"\xef\xbb\xbf" + DORSET.encode("utf-8"))
    run = run_cli(tmp_path, "validate", str(path))
    assert run.returncode == 0, run.stderr


def test_a_windows_1252_pack_is_refused_at_its_place(tmp_path: Path) -> None:
    content = DORSET.replace("area: Dorset", "area: Dorset Café", 1).encode("cp1252")
    offset, line, column = first_non_ascii(content)
    run, path = evaluate_pack(tmp_path, content)
    assert_refused(run, f"rmfhc evaluate: error: {path}:{line}:{column}: not UTF-8 text: byte 0xe9 at offset "
                        f"{offset} (it looks like Latin-1 or Windows-1252); save the file as UTF-8")


# --- control characters --------------------------------------------------------------------------------


def test_a_nul_byte_in_a_pack(tmp_path: Path) -> None:
    text = DORSET.replace("area: Dorset", "area: Dor\0set", 1)
    index = text.index("\0")
    line, column = text[:index].count("\n") + 1, index - text.rfind("\n", 0, index)
    run, path = evaluate_pack(tmp_path, text.encode("utf-8"))
    assert_refused(run, f"rmfhc evaluate: error: {path}:{line}:{column}: a NUL byte is not allowed in a text file "
                        "(is this a binary file?); save the file as UTF-8 text")


def test_a_nul_byte_in_a_pack_given_to_validate(tmp_path: Path) -> None:
    path = pack_copy(tmp_path, b"protocol:\n  id: x\0\n")
    run = run_cli(tmp_path, "validate", str(path))
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert f"{path}:2:8: a NUL byte is not allowed" in run.stderr


def test_a_nul_byte_in_a_history(tmp_path: Path) -> None:
    run, path = evaluate_history(tmp_path, b'{"child": {"date_of_birth": "2011-05-02"},\n "episodes": [\0]}')
    assert_refused(run, f"rmfhc evaluate: error: {path}:2:15: a NUL byte is not allowed in a text file "
                        "(is this a binary file?); save the file as UTF-8 text")


def test_a_control_character_in_a_pack(tmp_path: Path) -> None:
    text = DORSET.replace("area: Dorset", "area: Dor\x07set", 1)
    line = text[:text.index("\x07")].count("\n") + 1  # the area line, column 12 is the bell
    run, path = evaluate_pack(tmp_path, text.encode("utf-8"))
    assert run.returncode == 2 and len(run.stderr.splitlines()) == 1
    assert f"{path}:{line}:12: the control character U+0007 is not allowed in YAML" in run.stderr


# --- size and nesting ----------------------------------------------------------------------------------


def test_a_history_over_the_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "history.json"
    with path.open("wb") as out:
        out.write(b" " * (_read.MAX_HISTORY_BYTES + 1))
    run = run_cli(tmp_path, "evaluate", "--protocol", "dorset", "--as-of", AS_OF, str(path))
    assert_refused(run, f"rmfhc evaluate: error: {path}: 20.0 MB is too large for a history file (the limit is "
                        "20.0 MB)")


def test_a_pack_over_the_size_limit(tmp_path: Path) -> None:
    run, path = evaluate_pack(tmp_path, DORSET.encode("utf-8") + b"#" * _read.MAX_PACK_BYTES)
    assert_refused(run, f"rmfhc evaluate: error: {path}: 10.1 MB is too large for a pack file (the limit is "
                        "10.0 MB)")


def test_a_history_with_too_many_episodes(tmp_path: Path) -> None:
    episodes = [{"id": f"E{n}", "kind": "missing", "last_seen_at": "2026-01-01T00:00:00Z"}
                for n in range(_read.MAX_EPISODES + 1)]
    content = json.dumps({"child": {"date_of_birth": "2011-05-02"}, "episodes": episodes}).encode("utf-8")
    run, path = evaluate_history(tmp_path, content)
    assert_refused(run, f"rmfhc evaluate: error: {path}: episodes: 20,001 episodes is more than one history may "
                        "have (the limit is 20,000)")


@pytest.mark.parametrize("depth", [65, 100_000])
def test_deeply_nested_json(tmp_path: Path, depth: int) -> None:
    content = ('{"child": {"date_of_birth": "2011-05-02"},\n "episodes": ' + "[" * depth + "]" * depth + "}")
    run, path = evaluate_history(tmp_path, content.encode("utf-8"))
    # the 65th level is the 64th bracket: the object is the first level; the brackets start at column 14
    assert_refused(run, f"rmfhc evaluate: error: {path}:2:{14 + 63}: nested more than 64 levels deep")


def test_brackets_inside_strings_do_not_count_as_nesting(tmp_path: Path) -> None:
    data = json.loads(HISTORY)
    data["episodes"][0]["events"][0]["note"] = "[[[{{{" * 100 + '\\"]]]'
    run, _ = evaluate_history(tmp_path, json.dumps(data).encode("utf-8"))
    assert run.returncode == 0, run.stderr


def test_a_number_of_5000_digits(tmp_path: Path) -> None:
    run, path = evaluate_history(tmp_path, ('{"child": {"date_of_birth": "2011-05-02", "id": ' + "9" * 5000
                                            + "}}").encode("utf-8"))
    assert run.returncode == 2 and len(run.stderr.splitlines()) == 1 and "Traceback" not in run.stderr
    assert f"{path}: not valid JSON: Exceeds the limit (4300 digits)" in run.stderr


def test_a_history_with_too_many_values(tmp_path: Path) -> None:
    data = json.loads(HISTORY)
    data["episodes"][0]["note"] = [0] * 1_200_000  # 2.4 MB, within the size limit
    content = json.dumps(data, indent=None).encode("utf-8")
    run, path = evaluate_history(tmp_path, content)
    assert run.returncode == 2 and run.stdout == "" and len(run.stderr.splitlines()) == 1
    assert run.stderr.startswith(f"rmfhc evaluate: error: {path}:1:")
    assert run.stderr.rstrip().endswith(": more than 1,000,000 values in one file (lists, mappings and the items "
                                        "in them)")
    assert run.seconds < SECONDS and run.megabytes < MEGABYTES


@pytest.mark.parametrize("content", [
    '["' + '\\"' * 2_000_000,  # one string, never closed, of escaped quotes: once quadratic
    '"' * 4_000_001,
    '["a\\' + "\n" * 1_000_000,
])
def test_pathological_json_strings_are_scanned_in_linear_time(tmp_path: Path, content: str) -> None:
    run, _ = evaluate_history(tmp_path, content.encode("utf-8"))
    assert run.returncode == 2 and len(run.stderr.splitlines()) == 1 and "Traceback" not in run.stderr
    assert run.seconds < SECONDS and run.megabytes < MEGABYTES


def test_a_history_wrong_in_every_one_of_100000_values_stays_within_memory(tmp_path: Path) -> None:
    """The worst case within the limits: every value a problem. Each problem is reported, in bounded memory."""
    data = {"child": {"date_of_birth": "2011-05-02"},
            "episodes": [{"id": "E1", "kind": "missing", "last_seen_at": "2026-01-01T00:00:00Z",
                          "risk": [1] * 99_900}]}
    run, path = evaluate_history(tmp_path, json.dumps(data).encode("utf-8"))
    assert run.returncode == 2 and "Traceback" not in run.stderr
    lines = run.stderr.splitlines()
    assert len(lines) == 99_900 and lines[-1] == f"{path}: episodes.0.risk.99899: Input should be a valid dictionary " \
                                                 "or instance of RiskGrading"
    assert run.megabytes < MEGABYTES and run.seconds < 10
