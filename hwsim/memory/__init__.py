"""Memory: tensor lifetimes and the arena planner (`arena`, `planner`) for RAM, and
the flash layout and weight footprint (`footprint`).

May import: errors, io, version, ir, specs.
"""
