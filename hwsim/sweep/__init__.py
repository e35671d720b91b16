"""Sweeps: the plan of a grid (`plan`), its units of work (`units`), the content-hash
cache (`cache`, `checkpoints`), local or Dask runners (`runner`), the sweep itself
(`run`) and its output files (`output`).

May import: errors, io, version, ir, specs, datasets, train, artifact, execute, cost,
memory, schedule, evaluate, results.
"""
