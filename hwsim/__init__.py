"""hwsim: cycle, energy and memory cost model and integer simulator for
multiplication-free tiny neural networks on earbud, hearing-aid and wearable cores."""
from hwsim.device import Device, device_from_data, load_device
from hwsim.errors import HwsimError, Problem, SpecError

__version__ = "0.1.0"
__all__ = ["Device", "device_from_data", "load_device", "HwsimError", "Problem", "SpecError",
           "__version__"]
