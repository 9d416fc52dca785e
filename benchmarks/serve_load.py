"""Load test of the HTTP service: concurrent clients posting a history to POST /evaluate, for a bounded time.

    python benchmarks/serve_load.py [--seconds 30] [--clients 8] [--workers N] [--url http://127.0.0.1:8000]

Without --url it starts `rmfhc serve` on 127.0.0.1 on a free port, and stops it at the end. It only ever sends to
the loopback address (another host is refused). It prints the requests answered, errors, requests per second and
the 50th and 99th percentile latency. The clients run in this one Python process, on the same machine as the
server: on a small machine they take some of its CPU, so the figures are a floor, not the server's ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "dorset_child_in_care.json"


@dataclass
class Stats:
    """What a run measured: answers, errors (anything but 200, or no answer), latencies in seconds."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""

    @property
    def requests(self) -> int:
        return len(self.latencies)

    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: int) -> float:
        if len(self.latencies) < 2:
            return self.latencies[0] if self.latencies else 0.0
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[p - 1]

    def report(self) -> str:
        return (f"{self.requests} requests in {self.seconds:.1f} s, {self.errors} errors: "
                f"{self.per_second():.0f} requests/s, p50 {self.percentile(50) * 1000:.1f} ms, "
                f"p99 {self.percentile(99) * 1000:.1f} ms")


def loopback_only(url: str) -> str:
    """The URL, if it names this machine's loopback address; ValueError otherwise."""
    host = urlsplit(url).hostname or ""
    try:
        local = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        local = False
    if not local:
        raise ValueError(f"{url}: the load test only targets this machine (127.0.0.1, localhost, [::1])")
    return url.rstrip("/")


async def _client(session: httpx.AsyncClient, body: bytes, deadline: float, stats: Stats) -> None:
    while time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            response = await session.post("/evaluate", content=body, headers={"content-type": "application/json"})
            ok = response.status_code == 200
            problem = "" if ok else f"HTTP {response.status_code}: {response.text[:200]}"
        except httpx.HTTPError as error:
            ok, problem = False, f"{type(error).__name__}: {error}"
        if ok:
            stats.latencies.append(time.perf_counter() - started)
        else:
            stats.errors += 1
            stats.first_error = stats.first_error or problem


async def _load(url: str, seconds: float, clients: int, body: bytes) -> Stats:
    stats = Stats()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as session:
        started = time.monotonic()
        deadline = started + seconds
        await asyncio.gather(*(_client(session, body, deadline, stats) for _ in range(clients)))
        stats.seconds = time.monotonic() - started
    return stats


def run_load(url: str, seconds: float = 30.0, clients: int = 8, body: bytes | None = None) -> Stats:
    """Post `body` (the example Dorset history by default) from `clients` concurrent clients for `seconds`."""
    if body is None:
        history = json.loads(EXAMPLE.read_text(encoding="utf-8"))
        body = json.dumps({"protocol": "dorset", "as_of": "2026-11-07T10:00Z", "history": history}).encode()
    return asyncio.run(_load(loopback_only(url), seconds, clients, body))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _start_server(workers: int | None) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    command = [sys.executable, "-m", "rmfhc", "serve", "--host", "127.0.0.1", "--port", str(port),
               "--log-level", "warning"] + (["--workers", str(workers)] if workers else [])
    server = subprocess.Popen(command, cwd=ROOT, env=dict(os.environ))
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return server, url
        except httpx.TransportError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("rmfhc serve did not start within a minute")


def main(argv: list[str] | None = None) -> int:
    """Run the load test; exit status 1 if any request failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="how long to send (default 30)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--workers", type=int, default=None, help="the server's workers, when started here")
    parser.add_argument("--url", help="a running service on this machine (default: start one)")
    args = parser.parse_args(argv)
    server = None
    url = args.url
    if url is None:
        server, url = _start_server(args.workers)
    try:
        stats = run_load(url, args.seconds, args.clients)
    finally:
        if server is not None:
            server.send_signal(signal.SIGINT)
            server.wait(30)
    print(f"{os.cpu_count()} cores; {args.clients} clients on {url}, POST /evaluate (dorset, 3 episodes)")
    print(stats.report())
    if stats.errors:
        print(f"first error: {stats.first_error}")
    return 1 if stats.errors or not stats.requests else 0


if __name__ == "__main__":
    sys.exit(main())
