"""hwsim: cycle, energy and memory cost model and integer simulator for
multiplication-free tiny neural networks on earbud, hearing-aid and wearable cores.

The public API, imported on first use (so `import hwsim` stays cheap):
devices (`load_device`, `device_from_data`), workloads (`load_workload`,
`workload_from_data`), users' .tflite/.onnx models (`load_model`, `import_network`,
`load_network`, `verify_model`), training (`run_training`, `save_artifact`, `load_artifact`),
graphs (`graph_from_artifact`, `graph_from_workload`), the executor (`execute`,
`verify_artifact`), costs (`cost_graph`, `CostOptions`), memory (`plan_memory`,
`MemoryOptions`), scheduling (`simulate`, `load_subject`), comparisons and sweeps
(`compare`, `run_sweep`, `SweepSpec`), the main job (`run_report`) and dashboards
(`write_dashboard`)."""
from importlib import import_module

from hwsim.errors import HwsimError, Problem, SpecError
from hwsim.version import __version__


_LAZY = {
    "Device": "hwsim.specs.device", "device_from_data": "hwsim.specs.device",
    "load_device": "hwsim.specs.device",
    "load_workload": "hwsim.specs.workload", "workload_from_data": "hwsim.specs.workload",
    "Workload": "hwsim.specs.workload",
    "load_model": "hwsim.importers.load", "import_network": "hwsim.importers.network",
    "load_network": "hwsim.importers.network", "verify_model": "hwsim.importers.verify",
    "run_training": "hwsim.train.pipeline", "save_artifact": "hwsim.artifact.save",
    "load_artifact": "hwsim.artifact.load",
    "graph_from_artifact": "hwsim.ir.graph", "graph_from_workload": "hwsim.ir.graph",
    "execute": "hwsim.execute.executor", "verify_artifact": "hwsim.execute.verify",
    "cost_graph": "hwsim.cost.model", "CostOptions": "hwsim.cost.actions",
    "plan_memory": "hwsim.memory.planner", "MemoryOptions": "hwsim.memory.planner",
    "simulate": "hwsim.evaluate.simulate", "load_subject": "hwsim.evaluate.simulate",
    "compare": "hwsim.evaluate.compare", "run_sweep": "hwsim.sweep.run", "SweepSpec": "hwsim.sweep.run",
    "run_report": "hwsim.report.main_job", "write_dashboard": "hwsim.dashboard.page",
}

__all__ = ["Device", "device_from_data", "load_device", "HwsimError", "Problem", "SpecError",
           "__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hwsim' has no attribute {name!r}")
