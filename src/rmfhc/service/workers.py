"""Worker processes that evaluate requests, so that one over its time limit is stopped rather than left running.

`evaluate` is pure Python: a thread cannot be interrupted, but a process can. Each worker is a process started
from a fork server (`multiprocessing` "forkserver": it inherits no other worker's pipes, so it ends when the
service does). A request is sent to an idle worker over a pipe; the event loop waits for the answer without
blocking, up to the time limit; a worker that overruns is killed and replaced, and the request is answered 422.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import signal
import sys
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from ..errors import RmfhcError
from ..pack import available_protocols
from .handlers import Job, handle
from .protocols import known_pack
from .replies import Reply, error_reply

_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["rmfhc.service.handlers"])


def _warm() -> None:
    """Compile the known packs once, so that the first requests a new worker takes are as quick as the rest."""
    for name in available_protocols():
        with contextlib.suppress(RmfhcError):  # answered to the request that names it
            known_pack(name)


def _serve(conn: Connection) -> None:
    """A worker's life: answer jobs until the service closes the pipe."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the service's to handle; it stops the workers
    _warm()
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply = handle(job)
        except MemoryError:
            reply = error_reply(422, "request: too large to evaluate in the memory this server has")
        except Exception as error:  # a bug in rmfhc, not in the request: say so, and keep serving
            traceback.print_exc(file=sys.stderr)
            reply = error_reply(500, f"internal error ({type(error).__name__}); please report it")
        try:
            conn.send(reply)
        except OSError:  # the service stopped, or gave up on this job, while it ran
            return


@dataclass(slots=True)
class _Worker:
    process: BaseProcess
    conn: Connection


class WorkerPool:
    """`size` worker processes; `run(job)` answers a job in one of them within `time_limit` seconds."""

    def __init__(self, size: int, time_limit: float) -> None:
        self.size = max(1, size)
        self.time_limit = time_limit
        self._idle: asyncio.Queue[_Worker] | None = None
        self._all: list[_Worker] = []

    async def start(self) -> None:
        """Start the workers (call from the running event loop, at the service's start)."""
        self._idle = asyncio.Queue()
        for _ in range(self.size):
            self._idle.put_nowait(self._spawn())

    async def stop(self) -> None:
        """Close every worker's pipe (each then exits), and kill any that has not gone within a second."""
        workers, self._all = self._all, []
        for worker in workers:
            worker.conn.close()
        for worker in workers:
            await asyncio.to_thread(worker.process.join, 1.0)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()

    def alive(self) -> int:
        """How many workers are running."""
        return sum(worker.process.is_alive() for worker in self._all)

    def _spawn(self) -> _Worker:
        parent, child = _CONTEXT.Pipe()
        process = _CONTEXT.Process(target=_serve, args=(child,), name="rmfhc-worker", daemon=True)
        process.start()
        child.close()
        worker = _Worker(process, parent)
        self._all.append(worker)
        return worker

    def _retire(self, worker: _Worker) -> None:
        """Kill a worker that overran, crashed or whose request was abandoned, and start another."""
        worker.process.kill()
        worker.conn.close()
        worker.process.join(1.0)
        if worker in self._all:
            self._all.remove(worker)
            assert self._idle is not None
            self._idle.put_nowait(self._spawn())

    async def run(self, job: Job, deadline: float | None = None) -> Reply:
        """Answer `job` in a worker, within the time limit (and before `deadline`, a loop time, if given)."""
        assert self._idle is not None, "the pool has not been started"
        worker = await self._idle.get()
        loop = asyncio.get_running_loop()
        limit = self.time_limit
        if deadline is not None and deadline - loop.time() < limit:
            limit = deadline - loop.time()
            if limit <= 0:
                self._idle.put_nowait(worker)
                return error_reply(422, "not evaluated: the batch's time limit ran out before this line")
        try:
            reply = await _exchange(worker.conn, job, limit)
        except TimeoutError:
            self._retire(worker)
            return error_reply(422, f"stopped after {limit:.3g} s: the evaluation took longer than this "
                                    "server's time limit")
        except (EOFError, OSError):
            self._retire(worker)
            return error_reply(503, "the worker evaluating this request stopped; try again")
        except BaseException:  # cancelled (the client went away): the worker is mid-job, so replace it
            self._retire(worker)
            raise
        self._idle.put_nowait(worker)
        return reply


async def _exchange(conn: Connection, job: Job, limit: float) -> Reply:
    """Send a job and wait, without blocking the event loop, for its answer; TimeoutError after `limit` s."""
    loop = asyncio.get_running_loop()
    conn.send(job)
    ready: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        if not ready.done():
            ready.set_result(None)

    fd = conn.fileno()
    loop.add_reader(fd, readable)
    try:
        await asyncio.wait_for(ready, limit)
    finally:
        loop.remove_reader(fd)
    reply: Reply = conn.recv()
    return reply
