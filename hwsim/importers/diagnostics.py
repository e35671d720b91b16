"""One HwsimError per file, listing every problem found in it."""
from __future__ import annotations

from hwsim.errors import HwsimError

MAX_FILE_BYTES = 1 << 30  # 1 GiB: no tiny-device model comes near; guards memory before reading
MAX_TENSOR_ELEMENTS = 1 << 31  # TensorFlow Lite's own int32 element-count limit


def fail(path: str, problems: list[str]) -> HwsimError:
    """The error to raise for `problems` found in the file at `path`."""
    if len(problems) == 1:
        return HwsimError(f"{path}: {problems[0]}")
    lines = "\n".join(f"  {problem}" for problem in problems)
    return HwsimError(f"{path}: {len(problems)} problems\n{lines}")


def read_bounded(path: str, kind: str) -> bytes:
    """The bytes of a model file, refusing directories, FIFOs and devices (before
    opening), missing and oversized files (hwsim.io.read_file_bytes)."""
    from hwsim.io import read_file_bytes

    try:
        return read_file_bytes(path, MAX_FILE_BYTES, f"{kind} file")
    except HwsimError as error:
        raise fail(path, [str(error).removeprefix(f"{path}: ")]) from None


def check_shape(shape: tuple[int, ...], what: str) -> str | None:
    """A problem with a static tensor shape, or None."""
    if len(shape) > 8:
        return f"{what} has rank {len(shape)}; at most 8 dimensions are supported"
    for dim in shape:
        if dim < 0:
            return f"{what} has a dynamic or negative dimension in shape {list(shape)}; give the model a static shape"
    count = 1
    for dim in shape:
        count *= dim
    if count > MAX_TENSOR_ELEMENTS:
        return f"{what} has shape {list(shape)} = {count} elements, more than the {MAX_TENSOR_ELEMENTS} limit"
    return None
