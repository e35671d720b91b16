"""Deterministic, atomic file writing and safe reading of .npz archives (no pickle)."""
from __future__ import annotations

import hashlib
import io
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from hwsim.errors import HwsimError

_EPOCH = (1980, 1, 1, 0, 0, 0)


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """An .npz archive with sorted members and fixed timestamps: same arrays, same bytes."""
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


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of an .npz file; object arrays (pickles) are refused."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except FileNotFoundError:
        raise HwsimError(f"{path}: no such file") from None
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise HwsimError(f"{path}: not a readable .npz archive ({exc})") from None


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


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
