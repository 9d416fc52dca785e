"""Evaluations per second on one core: realistic generated histories against a compiled pack.

    python benchmarks/evaluate.py [--protocol dorset] [--episodes 3] [--children 2000] [--seconds 5]

The pack is compiled once; histories are generated and validated before timing starts, so the figure is the
cost of `evaluate` alone (the part a case system repeats). Prints the figure for each pack asked for.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from rmfhc import History, evaluate, load_history, load_protocol


def generate(rng: random.Random, episodes: int) -> History:
    """A plausible child: in care or not, a few episodes days apart, gradings, events, the last still open."""
    looked_after = rng.random() < 0.6
    child: dict[str, Any] = {
        "date_of_birth": f"{rng.randint(2009, 2016)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "looked_after": looked_after,
        "legal_basis": rng.choice(["care_order", "section_20"]) if looked_after else "none",
        "known_to_childrens_services": rng.random() < 0.8,
        "open_to_childrens_services": rng.random() < 0.7,
        "child_protection_plan": rng.random() < 0.2,
        "exploitation_risk": rng.random() < 0.3,
        "placement": {"type": rng.choice(["foster", "childrens_home"]), "placing_authority": "Dorset Council",
                      "host_authority": "Dorset Council", "distance_miles": rng.randint(0, 40)}
        if looked_after else None,
    }
    start = datetime(2026, 9, 1, tzinfo=UTC) + timedelta(hours=rng.randint(0, 24 * 30))
    items = []
    for number in range(episodes):
        last_seen = start
        reported = last_seen + timedelta(minutes=rng.randint(20, 240))
        found = reported + timedelta(hours=rng.randint(2, 80))
        episode: dict[str, Any] = {
            "id": f"E{number + 1}", "kind": "missing", "last_seen_at": last_seen.isoformat(),
            "reported_at": reported.isoformat(),
            "risk": [{"graded_at": (reported + timedelta(minutes=30)).isoformat(),
                      "level": rng.choice(["medium", "high"])}],
            "events": [{"duty": "strategy_discussion", "at": (reported + timedelta(hours=20)).isoformat()}],
        }
        if number < episodes - 1:
            episode["found_at"] = found.isoformat()
            episode["found_report_received_at"] = (found + timedelta(hours=1)).isoformat()
        items.append(episode)
        start = found + timedelta(days=rng.randint(2, 12))
    return load_history({"child": child, "episodes": items})


def measure(protocol: str, episodes: int, children: int, seconds: float) -> tuple[float, float]:
    pack = load_protocol(protocol)
    rng = random.Random(20261124)
    histories = [generate(rng, episodes) for _ in range(children)]
    moments = [h.ordered_episodes()[-1].last_seen_at + timedelta(hours=30) for h in histories]
    count, duties = 0, 0
    began = time.perf_counter()
    while time.perf_counter() - began < seconds:
        for history, as_of in zip(histories, moments, strict=True):
            duties += len(evaluate(pack, history, as_of).duties)
            count += 1
    elapsed = time.perf_counter() - began
    return count / elapsed, duties / count


def machine_speed() -> float:
    """Milliseconds for sum(range(10**6)): a yardstick to compare this machine with another."""
    began = time.perf_counter()
    for _ in range(5):
        sum(range(10**6))
    return (time.perf_counter() - began) / 5 * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--protocol", action="append", help="pack name (repeatable; default: dorset)")
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument("--children", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    print(f"machine yardstick: sum(range(10**6)) takes {machine_speed():.1f} ms "
          "(about 12 ms on a current desktop CPU)")
    for protocol in args.protocol or ["dorset"]:
        rate, per_child = measure(protocol, args.episodes, args.children, args.seconds)
        print(f"{protocol}: {rate:,.0f} evaluations per second on one core, {1e6 / rate:,.0f} µs each "
              f"({args.episodes} episodes per child, {per_child:.1f} duties per evaluation)")


if __name__ == "__main__":
    main()
