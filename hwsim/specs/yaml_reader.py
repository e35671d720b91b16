"""Reading spec files: YAML with duplicate-key detection, and a Reader that
collects every problem with its YAML path instead of stopping at the first."""
from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Callable, Iterable

import yaml

from hwsim.errors import HwsimError, Problem, SpecError
from hwsim.io import MAX_SPEC_BYTES, check_nesting, read_text_file


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """The safe loader (libyaml's C parser where PyYAML has it) reporting duplicate
    mapping keys instead of keeping the last."""


def _construct_unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False):
    loader.flatten_mapping(node)
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            raise yaml.constructor.ConstructorError(
                None, None, f"mapping keys must be plain names or numbers, got "
                            f"{type(key).__name__} {key!r:.60}", key_node.start_mark)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first at line {seen[key]})", key_node.start_mark
            )
        seen[key] = line
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping
)


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML text safely; syntax errors, duplicate or complex keys, nesting
    deeper than hwsim.io.MAX_NESTING and alias bombs become SpecError."""
    try:
        loader = _UniqueKeyLoader(text)     # a SafeLoader: no Python objects, no tags
        try:
            data = loader.get_single_data()
        finally:
            loader.dispose()
        check_nesting(data, source)
        return data
    except HwsimError as exc:
        message = str(exc).removeprefix(f"{source}: ")
        raise SpecError(source, [Problem("", message)]) from None
    except RecursionError:
        raise SpecError(source, [Problem("", "invalid YAML: nested too deeply")]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = exc.problem or str(exc)
        raise SpecError(source, [Problem(where, f"invalid YAML: {what}")]) from None
    except yaml.YAMLError as exc:
        raise SpecError(source, [Problem("", f"invalid YAML: {exc}")]) from None


def read_yaml(path: str | Path) -> Any:
    """Read and parse a YAML file of at most hwsim.io.MAX_SPEC_BYTES; a missing,
    unreadable, over-size or non-regular file is a SpecError."""
    source = str(path)
    try:
        text = read_text_file(path, MAX_SPEC_BYTES, "spec file")
    except HwsimError as exc:
        raise SpecError(source, [Problem("", str(exc).removeprefix(f"{source}: "))]) from None
    return parse_yaml(text, source)


_EXPONENT_WITHOUT_DOT = re.compile(r"[-+]?\d+[eE][-+]?\d+")


def _looks_numeric(text: str) -> bool:
    """True for numbers YAML 1.1 reads as text: an exponent without a dot (3e-3)."""
    return bool(_EXPONENT_WITHOUT_DOT.fullmatch(text.strip()))


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "integer", float: "number", str: "string",
            list: "list", dict: "mapping"}.get(type(value), type(value).__name__)


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_\-]+")


def _join(path: str, key: Any) -> str:
    """Extend a YAML path; keys that are not plain names are shown quoted."""
    if isinstance(key, int) and not isinstance(key, bool):
        return f"{path}[{key}]"
    if not isinstance(key, str) or not _PLAIN_KEY.fullmatch(key):
        return f"{path}[{key!r}]"
    return f"{path}.{key}" if path else key


class Reader:
    """Walks one mapping of a spec, recording problems under their YAML path.

    Each accessor returns the value when it is valid and None when it is not
    (the problem is recorded), so a builder can read every field and report
    all problems at once. Call `finish()` to flag keys nobody asked for.
    """

    def __init__(self, data: Any, path: str, problems: list[Problem]):
        self.path = path
        self.problems = problems
        self.ok = isinstance(data, dict)
        if not self.ok:
            self.problem(None, f"must be a mapping, got {_type_name(data)}")
            data = {}
        self.data: dict = data
        self.seen: set[str] = set()

    def problem(self, key: Any, message: str) -> None:
        """Record a problem at this mapping's key (None: at the mapping itself)."""
        self.problems.append(Problem(self.path if key is None else _join(self.path, key), message))

    def has(self, key: str) -> bool:
        return key in self.data and self.data[key] is not None

    def raw(self, key: str, required: bool = True) -> Any:
        self.seen.add(key)
        if key not in self.data or self.data[key] is None:
            if required:
                self.problem(key, "required field is missing")
            return None
        return self.data[key]

    def _number(self, key, required, kinds, kind_name, minimum, exclusive_minimum, maximum, default):
        value = self.raw(key, required)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, kinds):
            hint = ""
            if isinstance(value, str) and _looks_numeric(value):
                hint = " (YAML reads this exponent form as text; write it with a dot, e.g. 3.0e-3)"
            self.problem(key, f"must be {kind_name}, got {_type_name(value)} {value!r}{hint}")
            return None
        if isinstance(value, float) and not math.isfinite(value):
            self.problem(key, f"must be a finite number, got {value!r}")
            return None
        if exclusive_minimum is not None and not value > exclusive_minimum:
            self.problem(key, f"must be > {exclusive_minimum}, got {value!r}")
            return None
        if minimum is not None and value < minimum:
            self.problem(key, f"must be >= {minimum}, got {value!r}")
            return None
        if maximum is not None and value > maximum:
            self.problem(key, f"must be <= {maximum}, got {value!r}")
            return None
        return value

    def int(self, key, required=True, *, minimum=None, positive=False, maximum=None, default=None):
        return self._number(key, required, (int,), "an integer", minimum,
                            0 if positive else None, maximum, default)

    def number(self, key, required=True, *, minimum=None, positive=False, maximum=None, default=None):
        value = self._number(key, required, (int, float), "a number", minimum,
                             0 if positive else None, maximum, default)
        return None if value is None else float(value)

    def str(self, key, required=True, *, default=None, nonempty=True):
        value = self.raw(key, required)
        if value is None:
            return default
        if not isinstance(value, str):
            self.problem(key, f"must be a string, got {_type_name(value)} {value!r}")
            return None
        if nonempty and not value.strip():
            self.problem(key, "must not be empty")
            return None
        return value

    def bool(self, key, required=True, *, default=None):
        value = self.raw(key, required)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.problem(key, f"must be true or false, got {_type_name(value)} {value!r}")
            return None
        return value

    def choice(self, key, choices: Iterable[str], required=True, *, default=None):
        choices = tuple(choices)
        value = self.raw(key, required)
        if value is None:
            return default
        if not isinstance(value, str) or value not in choices:
            self.problem(key, f"must be one of {', '.join(choices)}, got {value!r}")
            return None
        return value

    def section(self, key, required=True) -> "Reader | None":
        value = self.raw(key, required)
        if value is None:
            return None
        reader = Reader(value, _join(self.path, key), self.problems)
        return reader if reader.ok else None

    def list(self, key, required=True, *, nonempty=True) -> list | None:
        value = self.raw(key, required)
        if value is None:
            return None
        if not isinstance(value, list):
            self.problem(key, f"must be a list, got {_type_name(value)}")
            return None
        if nonempty and not value:
            self.problem(key, "must not be empty")
            return None
        return value

    def item_path(self, key: str, index: int) -> str:
        return _join(_join(self.path, key), index)

    def mapping(self, key, value_reader: Callable[["Reader", str], Any], required=True) -> dict | None:
        """A mapping of free keys, each value read by value_reader(self, key)."""
        value = self.raw(key, required)
        if value is None:
            return None
        sub = Reader(value, _join(self.path, key), self.problems)
        if not sub.ok:
            return None
        return {k: value_reader(sub, k) for k in sub.data}

    def finish(self) -> None:
        for key in self.data:
            if key not in self.seen:
                self.problem(key, "unknown field")


NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")      # used with fullmatch


def read_header(top: Reader, schema_version: int) -> str | None:
    """The fields every spec file starts with: `schema_version` (must equal the one
    this hwsim reads) and `name` (lower-case letters, digits, '-', '_', '.')."""
    version = top.int("schema_version")
    if version is not None and version != schema_version:
        top.problem("schema_version", f"must be {schema_version}, got {version}")
    name = top.str("name")
    if name is not None and not NAME_PATTERN.fullmatch(name):
        top.problem("name", f"must be 1 to 64 lower-case letters, digits, '-', '_' or '.', "
                            f"starting with a letter or digit, got {name!r}")
    return name


def raise_if_problems(source: str, problems: list[Problem]) -> None:
    if problems:
        raise SpecError(source, problems)
