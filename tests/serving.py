"""Running `rmfhc serve` for tests: a real server in a subprocess on 127.0.0.1, on a free port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from conftest import ROOT


def free_port() -> int:
    """A port nobody is listening on now (the server binds it a moment later)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def running(*options: str, startup: float = 60.0) -> Iterator[str]:
    """Start `rmfhc serve` with these options; yield its base URL; stop it (SIGINT, as Ctrl-C) afterwards."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key != "RMFHC_PROTOCOLS"}
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "rmfhc", "serve", "--host", "127.0.0.1", "--port", str(port),
             "--log-level", "warning", *options], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait(url, server, startup, log)
            yield url
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _wait(url: str, server: subprocess.Popen[bytes], startup: float, log: object) -> None:
    deadline = time.monotonic() + startup
    while time.monotonic() < deadline:
        if server.poll() is not None:
            break
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    log.seek(0)  # type: ignore[attr-defined]
    raise RuntimeError(f"rmfhc serve did not start: {log.read().decode(errors='replace')}")  # type: ignore[attr-defined]
