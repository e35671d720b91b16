"""The cost model: per node, action counts of its kernel in a style (`actions`,
`lut`, `int8`, `float32`, `kernels`, `primitives`, `shapes`, `options`; int8 weighted
layers from the int8 kernel library's characterization data, `int8_library`, `data/`),
priced with a device's cycle and energy tables (`prices`), summed per graph (`model`).
Pure functions.

May import: errors, io, version, ir, specs.
"""
