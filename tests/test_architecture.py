"""The dependency rule (hwsim/architecture.py) holds for every module, at module and
function level, and the module import graph has no cycle."""
from __future__ import annotations

import networkx as nx

from hwsim.architecture import ALLOWED, import_graph
from tests.conftest import REPO


def _cycles(edges):
    graph = nx.DiGraph([(a, b) for a, targets in edges.items() for b in targets])
    return [" -> ".join(c) for c in nx.simple_cycles(graph)]


def test_every_import_follows_the_rule():
    _, violations = import_graph(REPO)
    assert violations == []


def test_no_import_cycle():
    edges, _ = import_graph(REPO)
    assert _cycles(edges) == []


def test_every_package_is_ruled():
    packages = {p.name for p in (REPO / "hwsim").iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    modules = {p.stem for p in (REPO / "hwsim").glob("*.py")}
    assert packages | modules <= set(ALLOWED)


def _tree(tmp_path, files):
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_a_wrong_import_is_named(tmp_path):
    root = _tree(tmp_path, {
        "hwsim/__init__.py": "", "hwsim/errors.py": "",
        "hwsim/ir/__init__.py": "", "hwsim/cli/__init__.py": "",
        "hwsim/ir/graph.py": "def f():\n    from hwsim.cli import main\n",
        "hwsim/dashboard/__init__.py": "", "hwsim/cost/__init__.py": "",
        "hwsim/dashboard/page.py": "from ..cost import model\n",
        "hwsim/cost/model.py": "import hwsim.errors\n",
    })
    _, violations = import_graph(root)
    assert any("hwsim/ir/graph.py:2: hwsim.ir.graph imports hwsim.cli (ir may not import cli)" == v
               for v in violations), violations
    assert any(v.startswith("hwsim/dashboard/page.py:1: hwsim.dashboard.page imports hwsim.cost")
               for v in violations), violations
    assert len(violations) == 2


def test_a_cycle_is_found(tmp_path):
    root = _tree(tmp_path, {
        "hwsim/__init__.py": "", "hwsim/ir/__init__.py": "",
        "hwsim/ir/a.py": "from hwsim.ir.b import x\n",
        "hwsim/ir/b.py": "def x():\n    from hwsim.ir import a\n",
    })
    edges, violations = import_graph(root)
    assert violations == []
    assert _cycles(edges) in (["hwsim.ir.a -> hwsim.ir.b"], ["hwsim.ir.b -> hwsim.ir.a"])
