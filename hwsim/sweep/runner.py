"""Where the units of a sweep run: in this process (one job), in a local process
pool, or on a Dask distributed cluster. The three runners offer the same small
interface:

    with make_runner("local", jobs=4) as runner:
        handle = runner.submit(function, *args)     # args and result: plain JSON
        done = runner.wait(handles)                 # at least one finished handle
        value = runner.result(handle)
"""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from hwsim.version import __version__
from hwsim.errors import HwsimError
from hwsim.sweep.threads import THREAD_VARIABLES, one_thread_unless_set

EXECUTORS = ("local", "dask")
DASK_TIMEOUT_S = 5


class InlineRunner:
    """Runs each unit in this process, one at a time, when it is waited for (in
    submission order)."""

    def __init__(self):
        self._queue: list[tuple[cf.Future, Callable, tuple]] = []

    def __enter__(self) -> "InlineRunner":
        return self

    def __exit__(self, *exc) -> None:
        self._queue.clear()

    def submit(self, function: Callable, *args) -> cf.Future:
        future: cf.Future = cf.Future()
        self._queue.append((future, function, args))
        return future

    def wait(self, handles: Iterable[cf.Future]) -> list[cf.Future]:
        handles = set(handles)
        done = [h for h in handles if h.done()]
        if done:
            return done
        for i, (future, function, args) in enumerate(self._queue):
            if future in handles:
                del self._queue[i]
                future.set_result(function(*args))   # a bug raises here, unwrapped
                return [future]
        raise RuntimeError("wait() on handles that were never submitted")

    def result(self, handle: cf.Future) -> Any:
        return handle.result()


# Worker processes start with one BLAS/OpenMP thread each (unless the caller set
# these), as Dask workers do: N workers x N BLAS threads would oversubscribe the CPUs.
WORKER_THREAD_VARIABLES = THREAD_VARIABLES


PARENT_POLL_S = 0.5


def _watch_parent(parent_pid: int, poll_s: float = PARENT_POLL_S) -> None:
    """Worker initializer: a daemon thread ends this worker process as soon as the
    process that started it is gone (killed with SIGKILL, say), so no worker is left
    running for a sweep nobody waits for. Polling the parent pid works on every
    POSIX platform and whichever thread of the parent spawned the worker."""
    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(1)
            time.sleep(poll_s)
    threading.Thread(target=watch, name="hwsim-parent-watchdog", daemon=True).start()


class LocalRunner:
    """A pool of `jobs` worker processes (spawned: the same on every platform, and
    no fork of a process that holds threads). While the runner is open, the
    variables of WORKER_THREAD_VARIABLES that are unset are set to 1 in this
    process's environment, which the spawned workers inherit (this process's own
    numpy is already loaded and keeps its threads); they are unset again on exit."""

    def __init__(self, jobs: int):
        self._pool = cf.ProcessPoolExecutor(max_workers=jobs,
                                            mp_context=multiprocessing.get_context("spawn"),
                                            initializer=_watch_parent,
                                            initargs=(os.getpid(),))
        self._set_here: list[str] = []

    def __enter__(self) -> "LocalRunner":
        self._set_here = one_thread_unless_set(os.environ)
        return self

    def __exit__(self, *exc) -> None:
        try:
            self._pool.shutdown(wait=True, cancel_futures=True)
        finally:
            for name in self._set_here:
                os.environ.pop(name, None)
            self._set_here.clear()

    def submit(self, function: Callable, *args) -> cf.Future:
        return self._pool.submit(function, *args)

    def wait(self, handles: Iterable[cf.Future]) -> list[cf.Future]:
        done, _ = cf.wait(list(handles), return_when=cf.FIRST_COMPLETED)
        return list(done)

    def result(self, handle: cf.Future) -> Any:
        try:
            return handle.result()
        except cf.process.BrokenProcessPool:
            raise HwsimError("a sweep worker process died (out of memory or killed); "
                             "run again to resume from the cache") from None


class DaskRunner:
    """Units as tasks of a Dask distributed cluster (`dask.distributed.Client`)."""

    def __init__(self, address: str, timeout_s: float = DASK_TIMEOUT_S):
        try:
            from dask import distributed
        except ImportError:
            raise HwsimError("--dask needs the dask.distributed package: "
                             "pip install 'dask[distributed]'") from None
        self._finished: queue.Queue = queue.Queue()
        try:   # a malformed address would leave a half-made Client hanging at exit
            distributed.comm.get_address_host_port(address)
        except (ValueError, TypeError) as exc:
            raise HwsimError(f"--dask {address!r}: not a scheduler address ({exc}); give "
                             "scheme://host:port, e.g. tcp://10.0.0.5:8786") from None
        try:
            self._client = distributed.Client(address, timeout=f"{timeout_s}s",
                                              set_as_default=False)
        except Exception as exc:   # OSError, TimeoutError, ValueError on a bad address...
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise HwsimError(f"cannot reach the Dask scheduler at {address!r} within "
                             f"{timeout_s:g} s ({reason})") from None

    def __enter__(self) -> "DaskRunner":
        return self

    def __exit__(self, *exc) -> None:
        self._client.close()

    def submit(self, function: Callable, *args) -> Any:
        future = self._client.submit(function, *args, pure=False)
        future.add_done_callback(self._finished.put)   # called from a Dask thread
        return future

    def wait(self, handles: Iterable[Any]) -> list[Any]:
        """Finished futures among `handles` (blocks until there is one). Done
        callbacks feed a queue: dask.distributed.wait would need a default client."""
        handles = set(handles)
        done = {h for h in handles if h.done()}
        while not done:
            finished = self._finished.get()
            if finished in handles:
                done.add(finished)
        return list(done)

    def result(self, handle: Any) -> Any:
        try:
            return handle.result()
        except ImportError as exc:
            raise HwsimError(f"a Dask worker cannot run hwsim ({exc}): install hwsim "
                             f"{__version__} on every worker") from None


def default_jobs() -> int:
    return os.cpu_count() or 1


def make_runner(executor: str = "local", *, jobs: int | None = None,
                dask_address: str | None = None, dask_timeout_s: float = DASK_TIMEOUT_S):
    """The runner for `executor` ("local": `jobs` processes, default one per CPU, or
    this process when jobs is 1; "dask": the cluster whose scheduler is at
    `dask_address`)."""
    if executor == "dask":
        if not dask_address:
            raise HwsimError("the dask executor needs a scheduler address "
                             "(e.g. tcp://10.0.0.5:8786)")
        return DaskRunner(dask_address, dask_timeout_s)
    if executor != "local":
        raise HwsimError(f"executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")
    jobs = default_jobs() if jobs is None else jobs
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise HwsimError(f"jobs must be an integer >= 1, got {jobs!r}")
    return InlineRunner() if jobs == 1 else LocalRunner(jobs)
