"""Running a deployed integer network op by op with integer operations only: the
execution plan (`plan`, `check`; grouped lookups `grouped`, threshold searches
`search`), the op runners (`ops`), the executor (`executor`), its
counters (`counters`), the measured multiplies, divisions and float operations of an
inference on traced arrays (`measure`), a plain-loop reference (`reference`) and `verify`
(executor = trainer, bit for bit; integer = float-simulated within a tolerance).

May import: errors, io, version, ir, specs, datasets, train, artifact.
"""
