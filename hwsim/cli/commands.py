"""The `hwsim` commands and their one-line help, in the order `hwsim --help` lists
them. Each command's arguments and code live in the module `hwsim.cli.<name>`, which
is imported only when that command runs (so `hwsim --help` stays quick)."""
from __future__ import annotations

HELP = {
    "report": "the main job: train, verify, compare every device, sweep, dashboard",
    "devices": "list, show or check device descriptions",
    "train": "train a workload and export its integer model",
    "simulate": "cost, plan and schedule a network on a device",
    "compare": "fit matrix of networks x devices x arithmetic styles",
    "convert": "convert a .tflite/.onnx classifier to the paper's tables (L levels, K weights)",
    "crossover": "where lut beats int8 and float32 over (L, K), per device and layer class",
    "verify": "check an artifact's integer executor against the trainer",
    "sweep": "sweep bit-widths x devices x arithmetic styles (cached, parallel)",
    "dashboard": "draw a results document as an HTML dashboard",
    "codegen": "emit C for an artifact (and build it with --build)",
    "validate": "check the cost model against emulated machine code",
    "characterize": "fit the int8 or lut kernel library's instruction counts on a target",
}
