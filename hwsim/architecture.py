"""The dependency rule of hwsim's packages, as data (docs/architecture.md draws it).

Each package (or top-level module) of `hwsim` may import only itself and the
packages listed for it here; every other import, at module or function level, is a
violation that tests/test_architecture.py reports by file, line and name. The order
follows the data flow: specs and the IR at the bottom, the CLI at the top, and the
dashboard reading only the results format.
"""
from __future__ import annotations

BASE = frozenset({"version", "errors", "io"})

ALLOWED: dict[str, frozenset[str]] = {
    "version": frozenset(),
    "errors": frozenset(),
    "io": frozenset({"errors"}),
    "architecture": frozenset(),
    "ir": BASE,
    "results": BASE | {"ir"},
    "specs": BASE | {"ir"},
    # importers -> train: `hwsim convert` makes a user's model the paper's network with the
    # trainer's clustering, fine-tuning and integer export (hwsim/importers/convert.py)
    "importers": BASE | {"ir", "specs", "train"},
    "datasets": BASE,
    "train": BASE | {"ir", "specs", "datasets"},
    "artifact": BASE | {"ir", "specs", "train"},
    "execute": BASE | {"ir", "specs", "datasets", "train", "artifact"},
    # cost -> memory: the lut kernel choice packs weight codes where the network would
    # not otherwise fit the device's flash, as the memory planner counts it
    # (hwsim/cost/lut_choice.py); memory imports nothing of cost
    "cost": BASE | {"ir", "specs", "memory"},
    "memory": BASE | {"ir", "specs"},
    "schedule": BASE | {"ir", "specs"},
    "machine": BASE | {"ir", "specs", "datasets", "train", "artifact", "execute", "cost", "memory"},
    "evaluate": BASE | {"ir", "specs", "importers", "artifact", "cost", "memory", "schedule", "results"},
    "sweep": BASE | {"ir", "specs", "importers", "datasets", "train", "artifact", "execute", "cost", "memory",
                     "schedule", "evaluate", "results"},
    "dashboard": BASE | {"results"},
    "report": BASE | {"ir", "specs", "importers", "datasets", "train", "artifact", "execute", "cost", "memory",
                      "schedule", "evaluate", "results", "sweep", "dashboard"},
}
ALLOWED["cli"] = frozenset(ALLOWED) | {"machine"}
ALLOWED["__init__"] = frozenset(ALLOWED)     # the lazy public API re-exports every stage


def package_of(module: str) -> str:
    """The package (or top-level module) of a dotted `hwsim....` name."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def allowed(importer: str, imported: str) -> bool:
    """May module `importer` import module `imported` (both dotted, under hwsim)?"""
    source, target = package_of(importer), package_of(imported)
    if target == "__init__":            # `import hwsim` alone: the facade
        return source in ("__init__", "cli")
    return source == target or target in ALLOWED.get(source, frozenset())


def imports_of(path, module: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, imported module) for every hwsim import in one source file, at any depth
    (function-level imports included); relative imports resolved."""
    import ast
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return [(line, name) for line, name in found if name == "hwsim" or name.startswith("hwsim.")]


def import_graph(root) -> tuple[dict[str, set[str]], list[str]]:
    """The hwsim modules under `root` (the folder holding the `hwsim` package): each
    module's imported hwsim modules, and the rule's violations as readable lines."""
    from pathlib import Path
    root = Path(root)
    files = {}
    for path in sorted((root / "hwsim").rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        files[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    edges: dict[str, set[str]] = {name: set() for name in files}
    violations = []
    for module, (path, is_package) in files.items():
        for line, name in imports_of(path, module, is_package):
            while name not in files and "." in name:    # `from pkg import function`
                name = name.rpartition(".")[0]
            if name == module:
                continue
            if name in edges[module]:
                continue
            edges[module].add(name)
            if not allowed(module, name):
                violations.append(f"{path.relative_to(root)}:{line}: {module} imports {name} "
                                  f"({package_of(module)} may not import {package_of(name)})")
    return edges, violations
