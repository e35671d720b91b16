"""Machine code, ladder steps 2-4: C code generation (`codegen`), cross builds
(`toolchain`), the disassembly proof (`disasm`), emulation and its pricing (`emulate`,
`emulate_profile`, `emulate_price`, its fetch-wait rules `fetch_waits`), the cost model held to it (`validate`), RTL
simulation of open RISC-V cores (`rtl`) and the network run on them against both
(`validate_rtl`); the int8 kernel library and its test harness (`kernels`) and its
characterization from its own machine code (`characterize`).

May import: errors, io, version, ir, specs, datasets, train, artifact, execute, cost,
memory.
"""
