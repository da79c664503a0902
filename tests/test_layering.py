"""The floors of the house: every import in the library points down (or sideways inside a package), and
no module imports itself back through a chain of others.

    unitok (0) <- mllm (1) <- data_recipes (2) <- evaluators (3) <- trainers (4) <- train/ eval/ scripts/ benchmarks/

Imports inside functions count too: a lazy import against the floors is still a dependency.
"""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, List, Set, Tuple

REPO = Path(__file__).resolve().parents[1]
FLOORS = {"unitok": 0, "mllm": 1, "data_recipes": 2, "evaluators": 3, "trainers": 4}
SCRIPT_FOLDERS = ("train", "eval", "scripts", "benchmarks")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def library_modules() -> Dict[str, Path]:
    return {module_name(p): p for package in FLOORS for p in sorted((REPO / package).rglob("*.py"))}


def imported_modules(path: Path, name: str, known: Set[str]) -> List[Tuple[str, int]]:
    """Our modules that `path` imports (absolute and relative), with their line numbers."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            # `from pkg import mod` imports the submodule when there is one
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:      # `import a.b.c` where c is an attribute
                target = target.rpartition(".")[0]
            if target:
                found.append((target, node.lineno))
    return found


def floor(module: str) -> int:
    return FLOORS[module.split(".")[0]]


def test_imports_point_down_the_floors():
    modules = library_modules()
    known = set(modules)
    wrong = []
    for name, path in modules.items():
        for target, line in imported_modules(path, name, known):
            if floor(target) > floor(name):
                wrong.append(f"{path.relative_to(REPO)}:{line} imports {target} (floor {floor(target)} above "
                             f"{name.split('.')[0]}, floor {floor(name)})")
    assert not wrong, "imports against the floor order:\n" + "\n".join(wrong)


def test_library_never_imports_scripts():
    modules = library_modules()
    wrong = []
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            wrong += [f"{path.relative_to(REPO)}:{node.lineno} imports {n}" for n in names
                      if n.split(".")[0] in SCRIPT_FOLDERS]
    assert not wrong, "\n".join(wrong)


def find_cycle(graph: Dict[str, Set[str]]) -> List[str]:
    """One import cycle as a list of modules (first == last), or [] when the graph is acyclic."""
    state: Dict[str, int] = {}          # 1: on the current path, 2: finished
    path: List[str] = []

    def visit(node: str) -> List[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return []


def import_graph() -> Dict[str, Set[str]]:
    modules = library_modules()
    known = set(modules)
    graph = {}
    for name, path in modules.items():
        # A package's own __init__ re-exporting its submodules is how packages work, not a cycle.
        graph[name] = {t for t, _ in imported_modules(path, name, known)
                       if t != name and not name.startswith(t + ".")}
    return graph


def test_no_import_cycles():
    cycle = find_cycle(import_graph())
    assert not cycle, "import cycle: " + " -> ".join(cycle)


def test_cycle_finder_finds_a_planted_cycle():
    graph = import_graph()
    assert graph["unitok.model"], "the graph must see unitok.model's imports"
    planted = {k: set(v) for k, v in graph.items()}
    planted["unitok.config"].add("unitok.model")     # model imports config; close the loop
    cycle = find_cycle(planted)
    assert cycle[0] == cycle[-1] and {"unitok.config", "unitok.model"} <= set(cycle)
