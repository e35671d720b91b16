"""Hand-written C kernel libraries (package data) and the harness that builds, emulates
and measures them kernel by kernel: `int8` (TFLite int8 semantics, CMSIS-NN class) and
`harness` (one firmware per target, random cases, executed-instruction counts).

Part of `machine` (its import rule applies). The
numpy reference the kernels are held to lives in hwsim.importers.int8_kernel_reference;
tests and benchmarks put the two side by side (machine may not import importers).
"""
