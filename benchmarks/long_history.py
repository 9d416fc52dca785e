"""A child with a very long history: evaluate it and write the result as JSON, timing and measuring memory.

    python benchmarks/long_history.py [--protocol dorset] [--episodes 10000]

Prints the time to evaluate, the time to write the JSON (to a file), the JSON's size and the process's peak
memory (resident set size). The aim: 10,000 episodes evaluated and written in under 2 s and 200 MB.
"""

from __future__ import annotations

import argparse
import io
import random
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from rmfhc import evaluate, load_history, load_protocol


def long_history(episodes: int, seed: int = 7) -> dict[str, Any]:
    """One child in care with `episodes` short episodes a day or two apart, graded, found, with events."""
    rng = random.Random(seed)
    start = datetime(2000, 1, 3, 18, 0, tzinfo=UTC)
    items = []
    for number in range(episodes):
        reported = start + timedelta(minutes=rng.randint(20, 180))
        found = reported + timedelta(hours=rng.randint(2, 30))
        items.append({
            "id": f"E{number + 1}", "kind": rng.choice(["missing", "missing", "missing", "away_from_placement"]),
            "last_seen_at": start.isoformat(), "reported_at": reported.isoformat(),
            "risk": [{"graded_at": (reported + timedelta(minutes=30)).isoformat(),
                      "level": rng.choice(["medium", "medium", "high"])}],
            "found_at": found.isoformat(), "found_report_received_at": (found + timedelta(hours=1)).isoformat(),
            "events": [{"duty": "strategy_discussion", "at": (reported + timedelta(hours=5)).isoformat()},
                       {"duty": "return_interview", "at": (found + timedelta(hours=40)).isoformat()}],
        })
        start = found + timedelta(hours=rng.randint(24, 60))
    return {"child": {"date_of_birth": "1990-01-01", "looked_after": True, "legal_basis": "care_order",
                      "known_to_childrens_services": True, "open_to_childrens_services": True,
                      "placement": {"type": "childrens_home"}}, "episodes": items}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protocol", default="dorset")
    parser.add_argument("--episodes", type=int, default=10_000)
    args = parser.parse_args()
    pack = load_protocol(args.protocol)
    history = load_history(long_history(args.episodes))
    as_of = history.ordered_episodes()[-1].found_at + timedelta(days=30)  # type: ignore[operator]
    began = time.perf_counter()
    result = evaluate(pack, history, as_of)
    evaluated = time.perf_counter()
    out = io.StringIO()
    result.write_json(out)
    written = time.perf_counter()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.protocol}: {args.episodes:,} episodes, {len(result.duties):,} duties: evaluate "
          f"{evaluated - began:.2f} s, write JSON {written - evaluated:.2f} s ({len(out.getvalue()) / 1e6:.1f} MB), "
          f"total {written - began:.2f} s; peak memory {peak_mb:.0f} MB (the history itself included)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
