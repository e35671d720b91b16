"""What the action counts depend on besides the graph: the choices of the deployed
kernels (`CostOptions`) and what the core can do (`CoreTraits`, read from the
device's core section and ISA). Neither holds a cycle or energy number."""
from __future__ import annotations

from dataclasses import dataclass, field, fields

from hwsim.cost.shapes import CodeShape, shape_for
from hwsim.specs.device import Device
from hwsim.errors import HwsimError

PLACES = ("flash", "sram")
ACTIVATION_LAYOUTS = ("bytes", "packed")
WEIGHT_INDEX_LAYOUTS = ("auto", "packed", "aligned")
ROW_POINTER_MODES = ("auto", "shift_add", "precomputed")
INT8_KERNELS = ("optimized", "library", "reference")
LUT_KERNELS = ("library", "loops")
LUT_GROUPINGS = ("auto", "off", 2, 3, 4)     # hwsim.ir.lut_grouped.GROUP_SIZES


@dataclass(frozen=True)
class CostOptions:
    """Choices of the deployed kernels that the graph does not fix.

    tables_in, weights_in, thresholds_in: where product/value tables, weight and
    bias data, and thresholds/pool bounds live ("flash" adds
    memory.flash_load_extra_cycles to every load). activations: level tensors one
    byte per element ("bytes") or packed at ceil(log2 L) bits ("packed").
    weight_indices: lut weight codes. Where the lut kernel library runs the layers:
    "auto" (default) per layer the fewest cycles among byte and packed codes (4 or 2
    bits), then packed codes where the network would not otherwise fit the device's
    flash, in the layers that save most (hwsim.cost.lut_choice), "packed" packed codes wherever K <= 16, "aligned" byte codes
    always; all generated and checked by `hwsim validate`. With the per-layer loops:
    byte / halfword indices ("auto", "aligned"), or the what-if of ceil(log2 K) bits
    ("packed", not generated). row_pointers: lut table addressing; "shift_add" computes
    level << log2(K) + index per connection (K must be a power of two),
    "precomputed" builds one row pointer per input element before the layer,
    "auto" precomputes when K is not a power of two or the core has no barrel
    shifter. unroll: connections per inner-loop iteration (1 is gcc -O2, which
    does not unroll; the paper's measurements were -O2). multiplier_operand_bits:
    bit length k of the second operand of the int8 MAC's software multiply
    (__mulsi3 loops k times), the weight's magnitude |w|; None (auto): the mean over
    the layer's weights (hwsim.cost.soft_multiply); on a
    multiplier timed by its operand, also the mean bits of the int8 library's MULs by an
    input (auto: the inputs uniform over their int8 values, hwsim.cost.int8_library).
    simd: use the core's SIMD MAC for int8 where it has one. int8_kernels: how int8
    weighted layers are run: "optimized" (per node, the fewest cycles among the CMSIS-NN
    class kernel library's variants that can run it, priced from its characterization
    data, hwsim.cost.int8_library, and the plain C loops: hwsim.cost.int8_choice),
    "library" (every node by the library's preferred kernel, CMSIS-NN's fixed rule) or
    "reference" (plain C loops, as TensorFlow Lite Micro's reference kernels); cores
    without data keep the reference formulas, with a note. The instruction
    sequences per ISA family are in hwsim.cost.shapes. lut_kernels: how lut
    weighted layers are run: "library" (the register-blocked lut kernel library, priced
    from its characterization data, hwsim.cost.lut_library, where it covers the core and
    the options) or "loops" (the code generator's per-layer loops, the formulas of
    hwsim.cost.lut). lut_grouping: which lut dense layers run the grouped dense kernel
    (issue 12's grouped lookups, hwsim.cost.lut_choice): "auto" (per layer, the fewest
    cycles among the library call and the grouped kernel's g and chunks that fits the
    memory budget), "off" (never) or a group size g (2, 3 or 4: that g wherever the layer
    allows it). float_zero_inputs: the
    share of the network input's elements that are 0 (float32 on a soft-float core:
    libgcc returns early on a zero operand, hwsim.cost.soft_float_library); None: no
    zeros, the worst case when costing shape-only."""

    tables_in: str = "flash"
    weights_in: str = "flash"
    thresholds_in: str = "flash"
    activations: str = "bytes"
    weight_indices: str = "auto"
    row_pointers: str = "auto"
    unroll: int = 1
    multiplier_operand_bits: int | None = None
    simd: bool = True
    int8_kernels: str = "optimized"
    lut_kernels: str = "library"
    lut_grouping: str | int = "auto"
    float_zero_inputs: float | None = None

    def __post_init__(self):
        problems = []
        choices = {"tables_in": PLACES, "weights_in": PLACES, "thresholds_in": PLACES,
                   "activations": ACTIVATION_LAYOUTS, "weight_indices": WEIGHT_INDEX_LAYOUTS,
                   "row_pointers": ROW_POINTER_MODES, "int8_kernels": INT8_KERNELS,
                   "lut_kernels": LUT_KERNELS}
        for name, allowed in choices.items():
            value = getattr(self, name)
            if value not in allowed:
                problems.append(f"{name} must be one of {', '.join(map(repr, allowed))}, "
                                f"got {value!r}")
        if isinstance(self.lut_grouping, str) and self.lut_grouping.isdigit():
            object.__setattr__(self, "lut_grouping", int(self.lut_grouping))
        if self.lut_grouping not in LUT_GROUPINGS or isinstance(self.lut_grouping, bool):
            problems.append(f"lut_grouping must be one of {', '.join(map(str, LUT_GROUPINGS))}, "
                            f"got {self.lut_grouping!r}")
        if not _is_int(self.unroll) or self.unroll < 1:
            problems.append(f"unroll must be an integer >= 1, got {self.unroll!r}")
        bits = self.multiplier_operand_bits
        if bits is not None and (not _is_int(bits) or not 0 <= bits <= 32):
            problems.append(f"multiplier_operand_bits must be an integer from 0 to 32, "
                            f"got {bits!r}")
        share = self.float_zero_inputs
        if share is not None and (isinstance(share, bool) or not isinstance(share, (int, float))
                                  or not 0 <= share <= 1):
            problems.append(f"float_zero_inputs must be a number from 0 to 1, got {share!r}")
        if not isinstance(self.simd, bool):
            problems.append(f"simd must be true or false, got {self.simd!r}")
        if problems:
            raise HwsimError("CostOptions: " + "; ".join(problems))

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# ----------------------------------------------------------------------------- core traits

# Per ISA: (register+register load addressing, free shifted operand in adds and
# loads (Thumb-2 `ADD r, r, r, LSL #n`, `LDRH r, [r, r, LSL #1]`), barrel shifter
# (a shift by n bits is one instruction), unaligned 16/32-bit loads, how a
# 32x32->64 product is formed when the core has a multiplier).
_ISA_TRAITS = {
    "armv6-m": (True, False, True, False, "routine"),          # no SMULL: __umulsidi3
    "armv7e-m": (True, True, True, True, "instruction"),       # SMULL
    "armv8-m.main": (True, True, True, True, "instruction"),   # SMULL
    "rv32i": (False, False, True, False, "mul_mulh"),
    "rv32e": (False, False, True, False, "mul_mulh"),
    "rv32im": (False, False, True, False, "mul_mulh"),         # MUL + MULH
    "rv32imc": (False, False, True, False, "mul_mulh"),
    "rv32imac": (False, False, True, False, "mul_mulh"),
    "rv32imfc": (False, False, True, False, "mul_mulh"),
    "msp430x": (False, False, False, False, "peripheral"),     # RLA: one bit per instruction
    "xtensa-hifi4": (False, False, True, False, "mul_mulh"),   # MULL + MULSH
}


@dataclass(frozen=True)
class CoreTraits:
    """What the core can do, as far as it changes the instruction sequence (not its
    cost): read from the device's core section and ISA."""
    word_bits: int
    register_offset: bool
    shifted_operand: bool
    barrel_shifter: bool
    unaligned_loads: bool
    multiplier: str          # none | single_cycle | iterative | peripheral
    has_mac: bool
    simd_lanes: int
    divider: bool
    fpu: bool
    has_float_mac: bool
    wide_multiply: str       # instruction | mul_mulh | routine | peripheral | software
    shape: CodeShape = field(default_factory=lambda: shape_for(""))   # cost_shapes
    serial_shifter: bool = False   # the device's shifts take cycles per bit (PicoRV32)
    operand_multiplier: bool = False   # MUL time follows its second operand (Ibex slow)
    isa: str = ""                  # the device's core.isa

    @property
    def word_factor(self) -> int:
        """Instructions per 32-bit integer operation (2 on a 16-bit core)."""
        return 1 if self.word_bits >= 32 else 2


def core_traits(device: Device) -> CoreTraits:
    core = device.core
    if core.isa not in _ISA_TRAITS:
        raise HwsimError(f"device {device.name!r}: the cost model does not know ISA {core.isa!r}")
    reg, shifted, barrel, unaligned, wide = _ISA_TRAITS[core.isa]
    if core.multiplier == "none":
        wide = "software"
    elif core.multiplier == "peripheral":
        wide = "peripheral"
    lanes = core.simd_mac_lanes if "simd_mac" in device.cycles else 1
    return CoreTraits(core.word_bits, reg, shifted, barrel, unaligned, core.multiplier,
                      "mac" in device.cycles, lanes, core.divider, core.fpu != "none",
                      "float_mac" in device.cycles, wide, shape_for(core.isa),
                      device.serial_shifter is not None,
                      device.operand_multiplier is not None, core.isa)
