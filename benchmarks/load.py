"""How long each shipped pack takes to load: YAML parsing, then validation and compilation.

    python benchmarks/load.py [--repeat 7] [--pure]

For each pack prints the median over `--repeat` runs of: parsing the YAML into positioned data, the whole
`validate_pack` (read, parse, validate, compile; uncached), and `load_protocol` once the pack is cached.
`--pure` forces PyYAML's pure-Python parser (the fallback where libyaml is missing) for comparison.
No figure here is asserted by a test; the README quotes them.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from rmfhc import _yaml, load_protocol, validate_pack

PACKS = ("derby_derbyshire", "dorset", "durham", "medway", "pan_cheshire")
ROOT = Path(__file__).resolve().parents[1] / "protocols"


def median_ms(action: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--pure", action="store_true", help="use the pure-Python YAML parser")
    args = parser.parse_args()
    if args.pure:
        if not hasattr(_yaml, "use_libyaml"):
            raise SystemExit("this version of rmfhc has only the pure-Python parser")
        _yaml.use_libyaml(False)
    libyaml = getattr(_yaml, "LIBYAML", False) and not args.pure
    yardstick = median_ms(lambda: sum(range(10**6)), 5)
    print(f"parser: {'libyaml (C)' if libyaml else 'pure Python'}; machine yardstick: "
          f"sum(range(10**6)) takes {yardstick:.0f} ms")
    print(f"{'pack':<18} {'lines':>6} {'parse ms':>9} {'validate_pack ms':>17} {'cached load ms':>15}")
    for name in PACKS:
        path = ROOT / f"{name}.yaml"
        lines = path.read_text(encoding="utf-8").count("\n")
        parse = median_ms(lambda path=path: _yaml.read(path), args.repeat)
        full = median_ms(lambda path=path: validate_pack(path), args.repeat)
        load_protocol(path)
        cached = median_ms(lambda path=path: load_protocol(path), args.repeat)
        print(f"{name:<18} {lines:>6} {parse:>9.1f} {full:>17.1f} {cached:>15.3f}")


if __name__ == "__main__":
    main()
