"""`hwsim verify model.tflite|.onnx`: run an imported model with hwsim's executors and,
where the runtime is importable, with the model's own runtime, sample by sample.

int8 models (any int8/uint8 activation) run `run_int8` (TensorFlow Lite's reference
arithmetic); float models `run_float`. The runtime: for .tflite the ai-edge-litert
interpreter with its reference kernels (`OpResolverType.BUILTIN_REF`), compared byte for
byte for int8 and within rtol = atol = 1e-5 for float32; for .onnx onnxruntime with
graph optimisations off, within 1e-4 for float32 and one quantization step for int8
(docs/import.md §5). Inputs are channels-last (the imported model's layout).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hwsim.errors import HwsimError
from hwsim.importers.model import ImportedModel

RANDOM_SAMPLES = 8
TFLITE_FLOAT_TOLERANCE = 1e-5
ONNX_FLOAT_TOLERANCE = 1e-4
ONNX_INT8_STEPS = 1


@dataclass(frozen=True)
class ModelVerification:
    """The executor's outputs for every sample and how they compare with the runtime's."""
    path: str
    format: str
    arithmetic: str                       # "int8" or "float32"
    samples: int
    inputs_from: str                      # a file, or "random (seed S)"
    runtime: str | None                   # what was compared against; None: not importable
    runtime_missing: str | None           # why no runtime ran
    matches: bool | None                  # None when no runtime ran
    criterion: str                        # "identical bytes", "within 1e-05", ...
    max_abs_difference: float | None
    mismatched_samples: tuple[int, ...]
    outputs: tuple[np.ndarray, ...] = field(repr=False, compare=False)   # stacked per output

    def as_dict(self) -> dict:
        return {"model": self.path, "format": self.format, "arithmetic": self.arithmetic,
                "samples": self.samples, "inputs": self.inputs_from, "runtime": self.runtime,
                "runtime_missing": self.runtime_missing, "matches": self.matches,
                "criterion": self.criterion, "max_abs_difference": self.max_abs_difference,
                "mismatched_samples": list(self.mismatched_samples),
                "outputs": [{"shape": list(o.shape), "dtype": str(o.dtype)} for o in self.outputs]}


def is_int8(model: ImportedModel) -> bool:
    return any(t.dtype in ("int8", "uint8") and not t.is_constant for t in model.tensors.values())


def samples_from(model: ImportedModel, array: np.ndarray | None, seed: int, source: str
                 ) -> list[np.ndarray]:
    """One array per sample in the input's dtype and shape: from `array` ([N, ...] or the
    input's own shape) or random with `seed`."""
    if len(model.inputs) != 1:
        raise HwsimError(f"{model.source_path}: {len(model.inputs)} graph inputs; verify takes "
                         "models with one input")
    tensor = model.tensors[model.inputs[0]]
    dtype = np.dtype(tensor.dtype)
    if array is None:
        rng = np.random.default_rng(seed)
        if dtype.kind in "iu":
            info = np.iinfo(dtype)
            return [rng.integers(info.min, info.max + 1, tensor.shape).astype(dtype)
                    for _ in range(RANDOM_SAMPLES)]
        return [rng.uniform(-1, 1, tensor.shape).astype(dtype) for _ in range(RANDOM_SAMPLES)]
    array = np.asarray(array)
    one = tuple(tensor.shape[1:])
    if tuple(array.shape) == tuple(tensor.shape):
        stacked = array.reshape((1, *one))
    elif array.ndim == len(one) + 1 and tuple(array.shape[1:]) == one and array.shape[0] >= 1:
        stacked = array
    else:
        raise HwsimError(f"{source}: shape {list(array.shape)} does not fit input "
                         f"{tensor.name!r} {list(tensor.shape)} (give [N, {', '.join(map(str, one))}])")
    if array.dtype.kind not in "iuf" or (dtype.kind in "iu" and array.dtype.kind == "f"):
        raise HwsimError(f"{source}: dtype {array.dtype} cannot feed input {tensor.name!r} "
                         f"({tensor.dtype})")
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        if stacked.size and (stacked.min() < info.min or stacked.max() > info.max):
            raise HwsimError(f"{source}: values from {stacked.min()} to {stacked.max()} do not "
                             f"fit input {tensor.name!r} ({tensor.dtype})")
    return [stacked[i:i + 1].astype(dtype) for i in range(stacked.shape[0])]


def _tflite_runner(path: str):
    try:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
    except ImportError:
        return None, "ai-edge-litert is not installed (pip install ai-edge-litert)"
    interpreter = Interpreter(model_path=path,
                              experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    interpreter.allocate_tensors()

    def run(x):
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
        interpreter.invoke()
        return [interpreter.get_tensor(d["index"]).copy() for d in interpreter.get_output_details()]
    return run, "ai-edge-litert interpreter, BUILTIN_REF kernels"


def _onnx_runner(path: str):
    try:
        import onnxruntime as ort
    except ImportError:
        return None, "onnxruntime is not installed (pip install onnxruntime)"
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name

    def run(x):
        feed = x.transpose(0, 3, 1, 2) if x.ndim == 4 else x
        outputs = session.run(None, {name: np.ascontiguousarray(feed)})
        return [o.transpose(0, 2, 3, 1) if o.ndim == 4 else o for o in outputs]
    return run, "onnxruntime (CPU, graph optimisations off)"


def verify_model(model: ImportedModel, inputs: np.ndarray | None = None, *, seed: int = 0,
                 inputs_from: str | None = None) -> ModelVerification:
    """Run every sample through hwsim's executor and, where importable, the runtime."""
    from hwsim.importers.float_reference import run_float
    from hwsim.importers.int8_reference import run_int8
    int8 = is_int8(model)
    samples = samples_from(model, inputs, seed, inputs_from or "inputs")
    execute = run_int8 if int8 else run_float
    ours = [execute(model, x) for x in samples]
    try:
        runner, runtime = (_tflite_runner if model.format == "tflite" else _onnx_runner)(
            model.source_path)
    except Exception as exc:       # the runtime refusing the file is a finding, not a crash
        runner, runtime = None, f"the runtime could not load the model ({exc})"
    if model.format == "tflite":
        criterion = "identical bytes" if int8 else f"within rtol = atol = {TFLITE_FLOAT_TOLERANCE:g}"
    else:
        criterion = (f"within {ONNX_INT8_STEPS} quantization step" if int8
                     else f"within rtol = atol = {ONNX_FLOAT_TOLERANCE:g}")
    matches, worst, bad = None, None, []
    if runner is not None:
        worst = 0.0
        for i, (x, got) in enumerate(zip(samples, ours)):
            expected = runner(x)
            ok = True
            for a, b in zip(got, expected):
                difference = float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))) \
                    if a.size else 0.0
                worst = max(worst, difference)
                if model.format == "tflite" and int8:
                    ok &= a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
                elif int8:
                    ok &= difference <= ONNX_INT8_STEPS
                else:
                    tol = TFLITE_FLOAT_TOLERANCE if model.format == "tflite" else ONNX_FLOAT_TOLERANCE
                    ok &= bool(np.allclose(a, b, rtol=tol, atol=tol))
            if not ok:
                bad.append(i)
        matches = not bad
    stacked = tuple(np.concatenate([o[k] for o in ours], axis=0) for k in range(len(model.outputs)))
    return ModelVerification(
        model.source_path, model.format, "int8" if int8 else "float32", len(samples),
        inputs_from or f"random (seed {seed})", runtime if runner else None,
        None if runner else runtime, matches, criterion, worst, tuple(bad), stacked)


def outputs_bytes(verification: ModelVerification, path: Path) -> bytes:
    """The stacked outputs as .npy (one output) or .npz (keyed output0, output1, ...)."""
    import io
    from hwsim.io import npz_bytes
    if path.suffix == ".npz":
        return npz_bytes({f"output{i}": o for i, o in enumerate(verification.outputs)})
    if len(verification.outputs) != 1:
        raise HwsimError(f"{path}: the model has {len(verification.outputs)} outputs; save them "
                         "to an .npz file")
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.ascontiguousarray(verification.outputs[0]),
                              allow_pickle=False)
    return buffer.getvalue()


def read_inputs(path: str | Path) -> np.ndarray:
    """The array of an .npy file (or the one array of an .npz), no pickles."""
    path = Path(path)
    if path.suffix == ".npz":
        from hwsim.io import read_npz
        arrays = read_npz(path)
        if len(arrays) != 1:
            raise HwsimError(f"{path}: {len(arrays)} arrays; give one (the model's input)")
        return next(iter(arrays.values()))
    try:
        with open(path, "rb") as handle:
            if handle.read(6) != b"\x93NUMPY":
                raise HwsimError(f"{path}: not an .npy file (no NumPy header)")
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise HwsimError(f"{path}: no such file") from None
    except (ValueError, OSError, EOFError) as exc:
        raise HwsimError(f"{path}: not a readable .npy file ({exc})") from None
