"""A content-addressed result cache on disk.

An entry is found by `kind` (a short name: "checkpoint", "simulation", ...) and
`key` = `key_of(inputs)`, the sha256 of the canonical JSON of everything the
result depends on. Two kinds of entries:

- a JSON entry: one file `<root>/<kind>/<kk>/<key>.json` holding the payload, its
  sha256 and the inputs it was computed from;
- a files entry: a directory `<root>/<kind>/<kk>/<key>/` holding payload files
  (e.g. a model artifact: model.json + model.npz) and `entry.json`, the manifest
  with the sha256 of every payload file and the inputs.

Writes are atomic: an entry is built under `<root>/tmp/` and renamed into place in
one step, so a reader sees a whole entry or none. Reads check every sha256; an
entry that fails the check (or does not parse) is reported in the Lookup's note,
moved out of the way and treated as missing. No pickle: JSON and raw files only.
docs/sweeps.md describes the layout.
"""
from __future__ import annotations

import errno
import functools
import hashlib
import json
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from hwsim.errors import HwsimError
from hwsim.io import MAX_JSON_BYTES, MAX_NPZ_BYTES, read_file_bytes, read_json

ENTRY_FORMAT = "hwsim-cache-entry"
ENTRY_FORMAT_VERSION = 1
MANIFEST = "entry.json"
ENV_VAR = "HWSIM_CACHE"
DEFAULT_DIR = ".hwsim-cache"
_TMP = "tmp"


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, ASCII, no NaN: one text for one value."""
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                          allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"cache inputs and payloads must be plain JSON ({exc})") from None


def key_of(inputs: Any) -> str:
    """The cache key of a result: sha256 of the canonical JSON of its inputs."""
    return hashlib.sha256(canonical_json(inputs).encode()).hexdigest()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_PACKAGE = Path(__file__).resolve().parent.parent       # the hwsim package


@functools.lru_cache(maxsize=1)
def package_sha256() -> str:
    """sha256 of every file of the installed hwsim package (code and bundled data, by
    relative path; bytecode caches left out): a key input for results that any code
    change may move and that are cheap enough to recompute after one (the report's
    sections), so that an edited cost model never reads a stale entry. About 10 ms."""
    digest = hashlib.sha256()
    for path in sorted(_PACKAGE.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(f"{path.relative_to(_PACKAGE).as_posix()}\0".encode())
            digest.update(_sha256(path.read_bytes()).encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class Lookup:
    """What a read found. value: the payload (JSON entry) or the entry directory
    (files entry), None on a miss. note: set when a corrupt entry was found and
    discarded."""
    value: Any
    note: str | None = None

    @property
    def hit(self) -> bool:
        return self.value is not None


def default_cache_dir() -> Path:
    """$HWSIM_CACHE if set, else .hwsim-cache in the current directory."""
    return Path(os.environ.get(ENV_VAR) or DEFAULT_DIR)


@dataclass(frozen=True)
class Cache:
    root: Path

    def _path(self, kind: str, key: str) -> Path:
        if not kind.isidentifier() or len(key) != 64 or any(c not in "0123456789abcdef"
                                                            for c in key):
            raise ValueError(f"bad cache kind/key: {kind!r}/{key!r}")
        return self.root / kind / key[:2] / key

    def _temp_dir(self) -> Path:
        tmp = self.root / _TMP
        tmp.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix="entry-", dir=tmp))

    def _discard(self, path: Path) -> None:
        """Move an entry out of the way (one rename), then delete it."""
        if not path.exists():
            return
        trash = self.root / _TMP / f"discard-{uuid.uuid4().hex}"
        trash.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(path, trash)
        except FileNotFoundError:
            return                       # another process discarded it first
        if trash.is_dir():
            shutil.rmtree(trash, ignore_errors=True)
        else:
            trash.unlink(missing_ok=True)

    def _corrupt(self, kind: str, key: str, path: Path, why: str) -> Lookup:
        self._discard(path)
        return Lookup(None, f"cache entry {kind}/{key[:12]} was corrupt ({why}); recomputed")

    # JSON entries ---------------------------------------------------------------------
    def get_json(self, kind: str, key: str) -> Lookup:
        path = self._path(kind, key).with_suffix(".json")
        if not path.exists() and not path.is_symlink():
            return Lookup(None)
        try:
            doc = read_json(path, MAX_JSON_BYTES, "cache entry")
        except HwsimError as exc:
            return self._corrupt(kind, key, path, _why(exc, path))
        if not isinstance(doc, dict) or doc.get("format") != ENTRY_FORMAT \
                or doc.get("key") != key or "payload" not in doc:
            return self._corrupt(kind, key, path, "not a cache entry for this key")
        try:
            text = canonical_json(doc["payload"])
        except TypeError:
            return self._corrupt(kind, key, path, "payload is not plain JSON")
        if _sha256(text.encode()) != doc.get("payload_sha256"):
            return self._corrupt(kind, key, path, "payload sha256 mismatch")
        return Lookup(doc["payload"])

    def put_json(self, kind: str, key: str, payload: Any, inputs: Any = None) -> Path:
        path = self._path(kind, key).with_suffix(".json")
        text = canonical_json(payload)
        doc = {"format": ENTRY_FORMAT, "format_version": ENTRY_FORMAT_VERSION, "kind": kind,
               "key": key, "inputs": inputs, "payload_sha256": _sha256(text.encode()),
               "payload": payload}
        # The payload keeps its key order (rows are read back as they were written).
        data = (json.dumps(doc, indent=1, allow_nan=False) + "\n").encode()
        temp = None
        try:
            try:
                handle, temp = tempfile.mkstemp(prefix="entry-", dir=self.root / _TMP)
            except FileNotFoundError:
                (self.root / _TMP).mkdir(parents=True, exist_ok=True)
                handle, temp = tempfile.mkstemp(prefix="entry-", dir=self.root / _TMP)
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.chmod(temp, 0o644)
            try:
                os.replace(temp, path)
            except FileNotFoundError:
                path.parent.mkdir(parents=True, exist_ok=True)
                os.replace(temp, path)
        except OSError as exc:
            if temp is not None:
                Path(temp).unlink(missing_ok=True)
            raise HwsimError(f"{self.root}: cannot write the cache ({exc.strerror})") from None
        return path

    # files entries --------------------------------------------------------------------
    def holds(self, kind: str, key: str) -> bool:
        """Whether something is stored under (kind, key), intact or not: no check and no
        repair (get_json and get_files do both)."""
        path = self._path(kind, key)
        return path.exists() or path.is_symlink()

    def get_files(self, kind: str, key: str,
                  check: Callable[[Path], None] | None = None) -> Lookup:
        """The entry directory if every file in its manifest is present and intact and
        `check(directory)` (when given) accepts it. An entry intact by hash that its
        reader cannot read (check raises HwsimError) is discarded, so it is recomputed
        instead of failing every rerun."""
        path = self._path(kind, key)
        if not path.exists() and not path.is_symlink():
            return Lookup(None)
        try:
            manifest = read_json(path / MANIFEST, MAX_JSON_BYTES, "cache manifest")
        except HwsimError as exc:
            return self._corrupt(kind, key, path, f"manifest: {_why(exc, path / MANIFEST)}")
        if not isinstance(manifest, dict):
            manifest = {}
        files = manifest.get("files")
        if manifest.get("format") != ENTRY_FORMAT or manifest.get("key") != key \
                or not isinstance(files, dict) or not files:
            return self._corrupt(kind, key, path, "not a cache entry for this key")
        for name, digest in sorted(files.items()):
            if not isinstance(name, str) or "/" in name or name in ("", ".", ".."):
                return self._corrupt(kind, key, path, f"bad file name {name!r}")
            try:
                data = read_file_bytes(path / name, MAX_NPZ_BYTES, "cache file")
            except HwsimError as exc:
                return self._corrupt(kind, key, path, f"{name}: {_why(exc, path / name)}")
            if _sha256(data) != digest:
                return self._corrupt(kind, key, path, f"{name} sha256 mismatch")
        if check is not None:
            try:
                check(path)
            except HwsimError as exc:
                return self._corrupt(kind, key, path, f"unreadable: {str(exc).splitlines()[0]}")
        return Lookup(path)

    def put_files(self, kind: str, key: str, files: dict[str, bytes], inputs: Any = None
                  ) -> Path:
        """Write the files and their manifest into a temporary directory, then rename
        it into place. If an intact entry is already there (another writer), keep it."""
        if MANIFEST in files:
            raise ValueError(f"{MANIFEST} is the cache's own file name")
        path = self._path(kind, key)
        manifest = {"format": ENTRY_FORMAT, "format_version": ENTRY_FORMAT_VERSION,
                    "kind": kind, "key": key, "inputs": inputs,
                    "files": {name: _sha256(data) for name, data in sorted(files.items())}}
        temp = self._temp_dir()
        try:
            for name, data in sorted(files.items()):
                _write(temp / name, data)
            _write(temp / MANIFEST, (json.dumps(manifest, sort_keys=True, indent=1, allow_nan=False)
                                     + "\n").encode())
            os.chmod(temp, 0o755)
            path.parent.mkdir(parents=True, exist_ok=True)
            for _ in range(3):
                try:
                    os.rename(temp, path)
                    return path
                except OSError as exc:
                    if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                        raise
                if self.get_files(kind, key).hit:   # a whole entry is there already
                    return path
            raise HwsimError(f"{path}: cannot replace a corrupt cache entry")
        except OSError as exc:
            raise HwsimError(f"{self.root}: cannot write the cache ({exc.strerror})") from None
        finally:
            shutil.rmtree(temp, ignore_errors=True)

    def temp_entries(self) -> list[Path]:
        """Leftovers of writers that were killed mid-write (safe to delete when no
        other process is writing)."""
        tmp = self.root / _TMP
        return sorted(tmp.iterdir()) if tmp.is_dir() else []


def _why(exc: HwsimError, path: Path) -> str:
    return str(exc).removeprefix(f"{path}: ")


def _write(path: Path, data: bytes) -> None:
    """No fsync: the rename makes a write atomic for readers and for a killed
    process; after a power cut an entry may come back empty or torn, which its
    sha256 check catches (the entry is then recomputed)."""
    with open(path, "wb") as out:
        out.write(data)
    os.chmod(path, 0o644)


def open_cache(root: str | Path | None = None) -> Cache:
    """The cache at `root` (default: $HWSIM_CACHE or ./.hwsim-cache), created if
    needed and checked to be writable."""
    root = Path(root) if root is not None else default_cache_dir()
    try:
        (root / _TMP).mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(prefix="probe-", dir=root / _TMP)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise HwsimError(f"{root}: cannot use as the cache directory "
                         f"({exc.strerror or exc})") from None
    tag = root / "CACHEDIR.TAG"
    if not tag.exists():
        try:
            tag.write_text("Signature: 8a477f597d28d172789f06886806bc55\n"
                           "# hwsim result cache (docs/sweeps.md); safe to delete.\n")
        except OSError:
            pass
    return Cache(root)
