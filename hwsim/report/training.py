"""The main job's first stage: train and verify the bundled workloads that have data,
each through the cache (hwsim/sweep/checkpoints.py), the ones not trained yet in the
runner's worker processes so that they train side by side (and beside the main
process's own work); what is cached is read in this process, so a warm report starts
no worker."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from hwsim.importers.network import load_network
from hwsim.io import read_json
from hwsim.sweep.cache import Cache, key_of
from hwsim.sweep.checkpoints import cached_training, cached_verification, checkpoint_inputs


def train_and_verify(name: str, cache: Cache) -> tuple[str, tuple[str, ...], dict, dict]:
    """One workload's artifact and its verification, trained and verified now or read
    from the cache: (artifact directory, notes, its summary.json, the verification)."""
    artifact = cached_training(load_network(name), cache)
    verification = cached_verification(artifact.value, cache)
    summary = read_json(Path(artifact.value) / "summary.json", what="summary")
    return (str(artifact.value), artifact.notes + verification.notes, summary,
            verification.value)


def untrained(name: str, cache: Cache) -> bool:
    """Whether the workload's continuous checkpoint is missing from the cache: then
    training it is the long part of the report, worth a worker process. (A damaged
    entry counts as present: this process replaces it and notes it, as before.)"""
    return not cache.holds("checkpoint", key_of(checkpoint_inputs(load_network(name))))


def submit_training(names: list[str], cache: Cache, runner) -> dict:
    """Start training the workloads not trained yet on `runner`; their handles by name."""
    return {name: runner.submit(train_and_verify, name, cache)
            for name in names if untrained(name, cache)}


def collect_training(names: list[str], cache: Cache, runner, handles: dict,
                     progress: Callable[[int, int], None] | None = None) -> dict:
    """train_and_verify of every name, by name: the submitted ones as their workers
    finish, the others here."""
    results, pending = {}, dict(handles)
    for name in names:
        if name not in handles:
            results[name] = train_and_verify(name, cache)
            if progress:
                progress(len(results), len(names))
    while pending:
        for handle in runner.wait(pending.values()):
            name = next(n for n, h in pending.items() if h is handle)
            results[name] = runner.result(pending.pop(name))
            if progress:
                progress(len(results), len(names))
    return results
