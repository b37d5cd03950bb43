"""House rules over the import graph, read with ``ast`` only (pure: nothing is imported or run):
the core never imports Airflow, DAG files stay light at top level, frontier's subpackages import each
other without cycles, and the unit tier never imports Airflow. The rules that need the ruff binary
(``ruff check``, ``ruff format --check``) are in tests/integration/test_lint.py."""

from __future__ import annotations

import ast
import itertools
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FRONTIER = ROOT / "frontier"


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_never_imports_airflow():
    offenders = [str(p.relative_to(ROOT)) for p in FRONTIER.rglob("*.py") if "airflow" in _imports(p)]
    assert offenders == []


def test_unit_tests_never_import_airflow():
    """tests/unit is pure (see tests/unit/conftest.py): Airflow, and operators/ and dags/ that import
    it, are for tests/integration (DAG parsing, operators) and tests/e2e (DAG runs)."""
    unit = ROOT / "tests" / "unit"
    offenders = {
        p.name: sorted(_imports(p) & {"airflow", "operators", "dags"})
        for p in unit.glob("*.py")
        if _imports(p) & {"airflow", "operators", "dags"}
    }
    assert offenders == {}, "move these to tests/integration (or tests/e2e for DAG runs)"


def test_dag_files_import_nothing_heavy_at_top_level():
    heavy = {"duckdb", "pyarrow", "altair", "aiohttp", "httpx", "pandas", "polars", "torch", "sglang"}
    for path in (ROOT / "dags").glob("*.py"):
        top = ast.parse(path.read_text()).body
        names = set()
        for node in top:
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module.split(".")[0])
        assert not names & heavy, f"{path.name} imports {sorted(names & heavy)} at top level"


# ------------------------------------------------------------------------------- subpackage import cycles


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _unit(module: str) -> str | None:
    """frontier.launch.targets.ssh -> frontier.launch; frontier.errors -> frontier.errors; else None."""
    parts = module.split(".")
    if parts[0] != "frontier":
        return None
    return ".".join(parts[:2])


def import_graph(root: Path = FRONTIER) -> dict[str, dict[str, list[str]]]:
    """{unit: {imported unit: ["file:line", ...]}} over module-level and function-level imports
    (TYPE_CHECKING ones too: a type-only cycle is still a layering cycle)."""
    graph: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in sorted(root.rglob("*.py")):
        module = _module_name(path)
        src = _unit(module)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        where = f"{path.relative_to(ROOT)}"
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative: resolve against this module's package
                    base = package.split(".")
                    base = base[: len(base) - (node.level - 1)]
                    mod = ".".join(base + ([node.module] if node.module else []))
                else:
                    mod = node.module or ""
                # `from frontier import errors` names a top-level module, not the package
                targets = [f"{mod}.{a.name}" for a in node.names] if mod == "frontier" else [mod]
            for target in targets:
                dst = _unit(target)
                if dst and src and dst != src and dst != "frontier":
                    graph[src][dst].append(f"{where}:{node.lineno}")
    return graph


def find_cycles(graph: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    """One shortest cycle per strongly connected component of more than one unit."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    sccs: list[set[str]] = []

    def visit(v: str) -> None:  # Tarjan; the graph has ~15 nodes, recursion is fine
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            scc = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                scc.add(w)
                if w == v:
                    break
            if len(scc) > 1:
                sccs.append(scc)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    cycles = []
    for scc in sccs:
        start = min(scc)
        paths = {start: [start]}  # BFS back to start inside the component
        queue = [start]
        found = None
        while queue and not found:
            v = queue.pop(0)
            for w in sorted(graph[v]):
                if w not in scc:
                    continue
                if w == start:
                    found = paths[v] + [start]
                    break
                if w not in paths:
                    paths[w] = paths[v] + [w]
                    queue.append(w)
        cycles.append(found)
    return cycles


def describe(graph, cycle: list[str]) -> str:
    steps = []
    for a, b in itertools.pairwise(cycle):
        sites = graph[a][b]
        steps.append(f"  {a} -> {b}  ({', '.join(sites[:3])}{' ...' if len(sites) > 3 else ''})")
    return " -> ".join(cycle) + "\n" + "\n".join(steps)


def test_find_cycles_finds_a_planted_cycle_and_passes_a_dag():
    g = {"a": {"b": ["x:1"]}, "b": {"c": ["y:2"]}, "c": {"a": ["z:3"]}, "d": {"a": ["w:4"]}}
    assert find_cycles(g) == [["a", "b", "c", "a"]]
    assert "c -> a  (z:3)" in describe(g, ["a", "b", "c", "a"])
    assert find_cycles({"a": {"b": ["x:1"]}, "b": {}, "d": {"a": ["w:4"]}}) == []


def test_import_graph_resolves_relative_and_function_level_imports(tmp_path):
    pkg = tmp_path / "frontier"
    (pkg / "sim").mkdir(parents=True)
    (pkg / "loadgen").mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "errors.py").write_text("")
    (pkg / "sim" / "__init__.py").write_text("from .. import errors\n")
    (pkg / "sim" / "a.py").write_text("def f():\n    from ..loadgen.b import x\n")
    (pkg / "loadgen" / "__init__.py").write_text("")
    (pkg / "loadgen" / "b.py").write_text("import frontier.sim.a\n")
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        g = import_graph(pkg)
    finally:
        ROOT = saved
    assert dict(g["frontier.sim"]) == {
        "frontier.errors": ["frontier/sim/__init__.py:1"],
        "frontier.loadgen": ["frontier/sim/a.py:2"],
    }
    assert find_cycles(g) == [["frontier.loadgen", "frontier.sim", "frontier.loadgen"]]


def test_no_import_cycles_between_frontier_subpackages():
    graph = import_graph()
    cycles = find_cycles(graph)
    assert not cycles, "import cycles between frontier's subpackages:\n" + "\n".join(
        describe(graph, c) for c in cycles
    )
