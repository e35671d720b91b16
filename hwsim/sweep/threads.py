"""How many BLAS and OpenMP threads hwsim's processes start with: one, unless the
caller set the variables.

hwsim's matrices are small (training batches of tens of samples, layers of tens to
hundreds of units), so a second BLAS thread saves little on a free machine, and on a
busy one every matrix product waits for the second thread to get a core: the trainer
then runs several times slower than on one thread. The `hwsim` command sets these
before numpy is first imported (hwsim/cli/__init__.py), and the local sweep runner
sets them for the worker processes it spawns (hwsim/sweep/runner.py): N workers x N
BLAS threads would oversubscribe the CPUs, as Dask's workers also avoid.

This module imports nothing, so the command can use it before anything else.
"""
from __future__ import annotations

from collections.abc import MutableMapping

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def one_thread_unless_set(environ: MutableMapping[str, str]) -> list[str]:
    """Set every variable of THREAD_VARIABLES missing from `environ` to 1; the names
    set (for the caller to unset again)."""
    missing = [name for name in THREAD_VARIABLES if name not in environ]
    for name in missing:
        environ[name] = "1"
    return missing
