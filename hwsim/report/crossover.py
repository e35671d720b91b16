"""The main job's `crossover` section: every network at its own L and K on every
device and SoC core (the verdict), and the (L, K) grid of the paper's networks, one
cache entry per network so that a warm report reads it instead of costing it again.

The key is the kind, the hwsim version, the sha256 of the hwsim package (any code
change recomputes the section, as for the report's other sections), the workload's
sha256, the sha256 of every device and SoC file, and the grid (docs/sweeps.md: what a
cache key holds)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hwsim.evaluate.crossover import DEFAULT_CLUSTERS, DEFAULT_LEVELS, crossover_map
from hwsim.evaluate.crossover_rows import crossover_rows
from hwsim.importers.network import load_network
from hwsim.specs.device import Device
from hwsim.specs.soc import Soc
from hwsim.sweep.cache import Cache, key_of, package_sha256
from hwsim.sweep.checkpoints import sha256_file
from hwsim.version import __version__

KIND = "crossover"
MAPPED = ("digits-mlp", "har-cnn", "kws-dscnn")   # the paper's networks: a grid each


@dataclass(frozen=True)
class Section:
    rows: tuple[dict, ...]
    notes: tuple[str, ...]        # cache entries found corrupt and recomputed


def crossover_section(names: Sequence[str], targets: Sequence[Device | Soc],
                      cache: Cache) -> Section:
    """crossover_rows of every network (names as the report takes them) on `targets`; an
    (L, K) grid for those of MAPPED (none of them: the first network)."""
    workloads = [load_network(name) for name in names]
    mapped = {w.name for w in workloads if w.name in MAPPED} or {workloads[0].name}
    files = [sha256_file(Path(t.source_file)) for t in targets]
    package = package_sha256()
    rows, notes = [], []
    for workload in workloads:
        grid = (DEFAULT_LEVELS, DEFAULT_CLUSTERS) if workload.name in mapped else ((), ())
        inputs = {"kind": KIND, "hwsim_version": __version__, "package_sha256": package,
                  "workload_sha256": workload.sha256, "files_sha256": files,
                  "levels": list(grid[0]), "clusters": list(grid[1])}
        key = key_of(inputs)
        found = cache.get_json(KIND, key)
        notes += [found.note] if found.note else []
        if found.hit:
            rows += found.value
            continue
        value = crossover_rows(crossover_map(workload, targets, *grid))
        cache.put_json(KIND, key, value, inputs)
        rows += value
    return Section(tuple(rows), tuple(notes))
