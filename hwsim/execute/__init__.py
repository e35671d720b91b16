"""Running a deployed integer network op by op with integer operations only: the
execution plan (`plan`, `check`), the op runners (`ops`), the executor (`executor`), its
counters (`counters`), a plain-loop reference (`reference`) and `verify` (executor =
trainer, bit for bit).

May import: errors, io, version, ir, specs, datasets, train, artifact.
"""
