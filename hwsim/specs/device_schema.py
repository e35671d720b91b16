"""The device schema's vocabulary, one home for it: the schema version, the names a
device file may use (ISAs, FPUs, multipliers, flash kinds, source kinds, cycle actions
by kind, sections and their fields) and the plausible range of every number
(docs/devices.md). hwsim.specs.device parses files against it; hwsim.specs.soc reuses it.
"""
from __future__ import annotations

SCHEMA_VERSION = 1
PRODUCT_CLASSES = ("earbud", "hearing_aid", "watch_band")
ISAS = ("armv6-m", "armv7e-m", "armv8-m.main", "rv32i", "rv32e", "rv32im", "rv32imc", "rv32imac",
        "rv32imfc", "msp430x", "xtensa-hifi4")
FPUS = ("none", "single", "double")
MULTIPLIERS = ("none", "single_cycle", "iterative", "peripheral")
FLASH_KINDS = ("internal", "external_xip", "fram", "mram")
# What hides the wait states of instruction fetches from flash (memory.instruction_fetch).
FETCH_HIDERS = ("cache", "prefetch", "none")
INSTRUCTION_FETCH_FIELDS = ("wait_states", "hidden_by", "extra_cycles_per_fetch")
SOURCE_KINDS = ("verified", "secondary", "estimate")

# Cycles per primitive action. Integer actions every core has:
BASE_ACTIONS = ("alu", "load_8", "load_16", "load_32", "store_8", "store_16", "store_32",
                "branch_taken", "branch_not_taken", "call_return")
# Optional for every core: an unconditional jump (jal x0 / j / b), priced branch_taken
# when not given; a RISC-V jump to an address in a register that is not a return (jr rX,
# a switch's jump table: jalr, which PicoRV32 takes longer than jal), priced jump when
# not given.
OPTIONAL_BASE_ACTIONS = ("jump", "jump_register")
# Optional pipeline hazards, extra cycles priced 0 when not given: load_use when the
# instruction right after a load reads its result, jalr_dependency when a RISC-V jalr
# reads the result of the instruction right before it (CV32E40P, docs/devices.md).
# Instruction fetch with wait states on a pipelined core whose fetch and data ports are
# apart (Ibex, CV32E40P; docs/rtl.md "With wait states"), counted from the executed
# instructions by hwsim.machine.fetch_waits.fetch_actions: memory_before_taken when a
# load or store is right before a taken branch, memory_before_jalr before a jalr (priced
# memory_before_taken when not given; CV32E40P: 0), taken_ahead_mul when fetches a
# multi-cycle multiply ran ahead are dropped by a taken branch; fetch_overlap when a fetch
# wait is hidden behind a load's or store's data wait, fetch_overlap_mul the further ones
# hidden behind a multi-cycle multiply (credits: cycles <= 0); self_base_load,
# chained_load_use and jalr_load_use, CV32E40P's load stalls that the fetch wait does not
# hide (hwsim.machine.load_stalls).
CREDIT_ACTIONS = ("fetch_overlap", "fetch_overlap_mul")
LOAD_STALL_ACTIONS = ("self_base_load", "chained_load_use", "jalr_load_use")
HAZARD_ACTIONS = ("load_use", "jalr_dependency", "memory_before_taken", "memory_before_jalr",
                  "taken_ahead_mul") + LOAD_STALL_ACTIONS + CREDIT_ACTIONS
# Ibex's fetch phase at one wait state (fetch_waits.odd_ahead_actions): taken_odd_ahead
# when a taken branch or jump meets an odd number of fetches run ahead by loads and stores,
# taken_odd_ahead_mul the change when multiplies run ahead too; its slow multiplier's
# further run-ahead (fetch_waits.slow_multiply_actions): fetch_overlap_slow_mul (a
# credit), taken_odd_ahead_slow_mul.
CREDIT_ACTIONS += ("fetch_overlap_slow_mul",)
HAZARD_ACTIONS += ("taken_odd_ahead", "taken_odd_ahead_mul", "fetch_overlap_slow_mul",
                   "taken_odd_ahead_slow_mul")
# Its single-cycle multiplier's MULH, which keeps the fetches held ahead
# (fetch_waits.held_mulh_actions): fetch_overlap_mulh (a credit), taken_odd_ahead_mulh.
CREDIT_ACTIONS += ("fetch_overlap_mulh",)
HAZARD_ACTIONS += ("fetch_overlap_mulh", "taken_odd_ahead_mulh")
# mul required with a multiplier; mac optional; mulh (the upper word of a 32x32 product:
# RISC-V mulh/mulhu/mulhsu) optional, priced mul when not given.
MULTIPLY_ACTIONS = ("mul", "mac", "mulh")
SIMD_ACTIONS = ("simd_mac",)               # required when core.simd_mac_lanes > 1
DIVIDE_ACTIONS = ("div",)                  # required when core.divider is true
FLOAT_ACTIONS = ("float_add", "float_mul", "float_mac", "float_div", "float_convert", "float_tanh")
REQUIRED_FLOAT_ACTIONS = ("float_add", "float_mul")
# What an optional action is priced as when the device file does not give it.
FALLBACK_ACTIONS = {"jump": "branch_taken", "mulh": "mul", "jump_register": "jump",
                    "memory_before_jalr": "memory_before_taken"}
ALL_ACTIONS = (BASE_ACTIONS + OPTIONAL_BASE_ACTIONS + HAZARD_ACTIONS + MULTIPLY_ACTIONS + SIMD_ACTIONS
               + DIVIDE_ACTIONS + FLOAT_ACTIONS)

SOFT_FLOAT_ROUTINES = ("add", "mul", "div", "compare", "convert", "tanh")
REQUIRED_SOFT_FLOAT = ("add", "mul")

# Every field the schema knows, by section (a source's `fields` must name one).
SECTION_FIELDS = {
    "core": ("name", "isa", "clock_hz", "count", "word_bits", "fpu", "multiplier", "divider",
             "simd_mac_lanes"),
    "cycles": ALL_ACTIONS,
    "soft_float": SOFT_FLOAT_ROUTINES,
    "soft_multiply": ("call_cycles", "cycles_per_bit"),
    "serial_shifter": ("base_cycles", "cycles_per_4_bits", "cycles_per_bit"),
    "operand_multiplier": ("base_cycles", "cycles_per_bit"),
    "memory": ("sram_bytes", "flash_bytes", "flash_kind", "flash_load_extra_cycles",
               "reserved_sram_bytes", "reserved_flash_bytes", "instruction_fetch"),
    "dma": ("present", "bytes_per_cycle"),
    "energy": ("supply_v", "active_ua_per_mhz", "sleep_ua", "pj_per_action"),
    "battery": ("kind", "capacity_mah", "voltage_v"),
}
KNOWN_PATHS = frozenset(SECTION_FIELDS) | frozenset(
    f"{section}.{name}" for section, names in SECTION_FIELDS.items() for name in names) | frozenset(
    f"energy.pj_per_action.{action}" for action in ALL_ACTIONS) | frozenset(
    f"memory.instruction_fetch.{name}" for name in INSTRUCTION_FETCH_FIELDS)



# Plausible ranges of device numbers (docs/devices.md, "Plausible ranges"): wide
# enough for any real earbud, hearing-aid or wearable core, narrow enough that no
# product of them overflows a float or reaches JSON as Infinity.
MAX_CLOCK_HZ = 10_000_000_000           # 10 GHz
MAX_CORES = 64
MAX_SIMD_LANES = 64
MAX_CYCLES = 1_000_000                  # per action, routine call or flash load
MAX_MEMORY_BYTES = 1 << 32              # 4 GiB of SRAM or flash
MAX_DMA_BYTES_PER_CYCLE = 1024
MAX_VOLTS = 50.0                        # supply or battery voltage
MAX_UA_PER_MHZ = 100_000.0              # 100 mA per MHz
MAX_SLEEP_UA = 1_000_000.0              # 1 A
MAX_PJ_PER_ACTION = 1_000_000.0         # 1 uJ per action
MAX_CAPACITY_MAH = 1_000_000.0          # 1000 Ah
