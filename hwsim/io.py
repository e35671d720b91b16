"""Deterministic, atomic file writing and safe reading of input files: bounded
regular files, JSON and .npz archives (no pickle). Every reader of a user's file
goes through `read_file_bytes`, so every input path refuses the same things with
the same message: a missing file, a directory, a FIFO or device (checked before
opening, so it cannot hang), and a file above its stated size limit."""
from __future__ import annotations

import hashlib
import io
import json
import math
import os
import stat
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hwsim.errors import HwsimError

if TYPE_CHECKING:
    import numpy as np     # imported where .npz files are made or read: the spec
                           # readers and `hwsim devices` start without it

_EPOCH = (1980, 1, 1, 0, 0, 0)


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """An .npz archive with sorted members and fixed timestamps: same arrays, same bytes."""
    import numpy as np
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(arrays):
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(arrays[name]),
                                      allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, member.getvalue())
    return buffer.getvalue()


MiB = 1 << 20
# Size limits of input files (docs/limits.md). Spec files are written by hand and
# are a few kB; artifacts, results documents and cache entries are written by hwsim.
MAX_SPEC_BYTES = 1 * MiB
MAX_JSON_BYTES = 64 * MiB
MAX_NPZ_BYTES = 64 * MiB
MAX_NPZ_ARRAY_BYTES = 256 * MiB        # the unpacked arrays of one archive, together
MAX_NESTING = 64                       # containers inside containers in a spec or JSON file


def read_file_bytes(path: str | Path, limit: int, what: str = "file") -> bytes:
    """The bytes of a regular file of at most `limit` bytes. Anything else is one
    HwsimError naming the path: missing, a directory, a path through a file, a
    FIFO, socket or device (refused from its stat before opening, so a FIFO cannot
    block), over the limit, or unreadable."""
    path = Path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise HwsimError(f"{path}: no such file") from None
    except NotADirectoryError:
        raise HwsimError(f"{path}: no such file (a part of the path is not a directory)") \
            from None
    except (OSError, ValueError) as exc:
        raise HwsimError(f"{path}: cannot read ({getattr(exc, 'strerror', None) or exc})") \
            from None
    if stat.S_ISDIR(info.st_mode):
        raise HwsimError(f"{path}: is a directory, not a {what}")
    if not stat.S_ISREG(info.st_mode):
        raise HwsimError(f"{path}: not a regular file (a FIFO, socket or device); a {what} "
                         "must be a regular file")
    if info.st_size > limit:
        raise HwsimError(f"{path}: is {info.st_size} bytes, more than the {limit}-byte limit "
                         f"for a {what}")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):       # replaced since the stat
                raise HwsimError(f"{path}: not a regular file")
            chunks, size = [], 0
            while True:
                chunk = os.read(fd, min(limit + 1 - size, 1 << 20) or 1)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if size > limit:
                    raise HwsimError(f"{path}: more than the {limit}-byte limit for a {what}")
        finally:
            os.close(fd)
    except OSError as exc:
        raise HwsimError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return b"".join(chunks)


def read_text_file(path: str | Path, limit: int, what: str = "file") -> str:
    """A bounded regular file decoded as UTF-8 (see read_file_bytes)."""
    data = read_file_bytes(path, limit, what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HwsimError(f"{path}: not UTF-8 text (byte {exc.start})") from None


def check_nesting(value: Any, source: str, limit: int = MAX_NESTING,
                  max_items: int = 1_000_000) -> None:
    """Refuse data nested deeper than `limit`, holding more than `max_items`
    containers and scalars in all (YAML aliases can expand a small file
    exponentially), or containing itself (a recursive YAML alias)."""
    count = 0
    stack = [(value, 0, ())]
    while stack:
        node, depth, ancestors = stack.pop()
        count += 1
        if count > max_items:
            raise HwsimError(f"{source}: more than {max_items} values (aliases expand to "
                             "too much data)")
        if isinstance(node, (dict, list)):
            if depth >= limit:
                raise HwsimError(f"{source}: nested more than {limit} levels deep")
            if id(node) in ancestors:
                raise HwsimError(f"{source}: contains itself (a recursive alias)")
            children = node.values() if isinstance(node, dict) else node
            inner = ancestors + (id(node),)
            stack.extend((child, depth + 1, inner) for child in children)


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def parse_json(data: bytes | str, source: str) -> Any:
    """JSON text to data: invalid JSON, NaN/Infinity, and nesting deeper than
    MAX_NESTING are one HwsimError naming the source."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise HwsimError(f"{source}: not UTF-8 text (byte {exc.start}), so not JSON") \
                from None
    try:
        value = json.loads(data, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise HwsimError(f"{source}: invalid JSON at line {exc.lineno} column {exc.colno}: "
                         f"{exc.msg}") from None
    except UnicodeDecodeError:
        raise HwsimError(f"{source}: invalid JSON (not UTF-8 text)") from None
    except RecursionError:
        raise HwsimError(f"{source}: invalid JSON (nested too deeply)") from None
    except ValueError as exc:
        raise HwsimError(f"{source}: invalid JSON: {exc}") from None
    check_nesting(value, source)
    return value


def read_json(path: str | Path, limit: int = MAX_JSON_BYTES, what: str = "JSON file") -> Any:
    """A bounded regular file parsed as JSON (see read_file_bytes, parse_json)."""
    return parse_json(read_file_bytes(path, limit, what), str(path))


def _npz_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int) -> np.ndarray:
    import numpy as np
    with archive.open(info) as stream:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise ValueError(f"unsupported .npy version {version}")
        if dtype.hasobject or dtype.kind not in "biuf":
            raise ValueError(f"arrays must hold numbers, got dtype {dtype}")
        count = math.prod(shape)
        size = count * dtype.itemsize
        if size > budget:
            raise ValueError(f"its header claims {size} bytes of data, more than the "
                             f"{MAX_NPZ_ARRAY_BYTES}-byte limit")
        data = stream.read(size + 1)
        if len(data) != size:
            raise ValueError("array data is truncated or has trailing bytes")
    array = np.frombuffer(data, dtype=dtype, count=count)
    return array.reshape(shape, order="F" if fortran else "C").copy()


def read_npz(path: Path, data: bytes | None = None) -> dict[str, np.ndarray]:
    """Every array of an .npz file (or of its bytes `data`, already read from `path`);
    object arrays (pickles) are refused, and so are archives above MAX_NPZ_BYTES or
    whose arrays claim more than MAX_NPZ_ARRAY_BYTES."""
    if data is None:
        data = read_file_bytes(path, MAX_NPZ_BYTES, ".npz archive")
    arrays, budget = {}, MAX_NPZ_ARRAY_BYTES
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                name = info.filename
                if not name.endswith(".npy"):
                    raise ValueError(f"member {name!r} is not an .npy array")
                array = _npz_member(archive, info, budget)
                budget -= array.nbytes
                arrays[name[:-4]] = array
    except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile, zlib.error,
            NotImplementedError, MemoryError, OverflowError, RuntimeError, TypeError,
            SyntaxError) as exc:
        raise HwsimError(f"{path}: not a readable .npz archive "
                         f"({type(exc).__name__}: {exc})") from None
    return arrays


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_output_directory(directory: str | Path, what: str = "output directory") -> Path:
    """Before any work: `directory` must be a directory or creatable as one (its
    nearest existing ancestor a writable directory). An existing file there, or a
    file on the way, is one HwsimError."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise HwsimError(f"{directory}: exists and is not a directory (the {what})")
    probe = directory
    while not probe.exists():
        if probe.is_symlink():
            raise HwsimError(f"{probe}: a dangling symbolic link on the way to the {what}")
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise HwsimError(f"{directory}: cannot create the {what}: {probe} is not a directory")
    if probe.exists() and not os.access(probe, os.W_OK | os.X_OK):
        raise HwsimError(f"{directory}: cannot create or write the {what}: {probe} is not "
                         "writable")
    return directory


def write_files_atomically(directory: Path, files: dict[str, bytes]) -> None:
    """Write every file to a temporary name in `directory`, then rename each into
    place in the given order (put the file that commits the set last)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HwsimError(f"{directory}: cannot create output directory ({exc.strerror})") from None
    temps = {}
    try:
        for name, data in files.items():
            handle, temp = tempfile.mkstemp(prefix=f".{name}.", dir=directory)
            temps[name] = temp
            os.chmod(temp, 0o644)
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
        for name, temp in temps.items():
            os.replace(temp, directory / name)
    except OSError as exc:
        for temp in temps.values():
            if os.path.exists(temp):
                os.unlink(temp)
        raise HwsimError(f"{directory}: cannot write ({exc.strerror})") from None
