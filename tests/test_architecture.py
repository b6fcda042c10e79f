"""The house plan (docs/architecture.md), enforced: who may import whom, no import
circles, and no hidden (function-local) project imports without a comment saying why.

Imports are read from the source with ``ast`` (module level and inside functions alike;
``if TYPE_CHECKING:`` blocks are annotations, not imports), so the rule holds for code
that has not run yet.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "escalations"

# Top to bottom. A module belongs to the longest prefix listed; it may import from its
# own layer and the layers below it, never from a layer above.
LAYERS: list[tuple[str, ...]] = [
    ("escalations.devtools",),
    (
        "escalations.views",
        "escalations.admin",
        "escalations.templatetags",
        "escalations.api",
        "escalations.portal",
        "escalations.management",
        "escalations.urls",
        "escalations.apps",
        "escalations.migrations",
    ),
    ("escalations.actions",),
    ("escalations.automation", "escalations.importers", "escalations.channels"),
    ("escalations.workflow",),
    ("escalations.intelligence",),
    ("escalations.selectors", "escalations.reports", "escalations.rollups"),
    ("escalations.domain",),  # domain services: clock, rules, defaults, requester links
    ("escalations.models",),
    ("escalations.domain.authority", "escalations.domain.sla"),  # pure rules the models use
    ("escalations.audit",),
    ("escalations.core",),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def layer_of(module: str) -> int:
    if module == "escalations":  # the package's own __init__: imports nothing
        return len(LAYERS) - 1
    best, rank = -1, None
    for i, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, rank = len(prefix), i
    assert rank is not None, f"{module} is in no layer: add it to LAYERS and docs/architecture.md"
    return rank


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for sub in node.body:
                lines.update(range(sub.lineno, (sub.end_lineno or sub.lineno) + 1))
    return lines


def imports_of(module: str) -> list[tuple[str, int, bool]]:
    """(imported project module, line, inside a function) for every project import."""
    path = MODULES[module]
    source = path.read_text()
    tree = ast.parse(source)
    skip = _type_checking_lines(tree)
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for sub in ast.walk(node):
                if isinstance(sub, (ast.Import, ast.ImportFrom)):
                    inside.add(sub.lineno)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.lineno in skip:
                continue
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            if not base.startswith("escalations"):
                continue
            for alias in node.names:
                target = f"{base}.{alias.name}"
                out.append((target if target in MODULES else base, node.lineno, node.lineno in inside))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("escalations") and node.lineno not in skip:
                    out.append((alias.name, node.lineno, node.lineno in inside))
    return [(m, line, local) for m, line, local in out if m in MODULES]


GRAPH = {m: imports_of(m) for m in MODULES}


def test_every_module_has_a_layer():
    for module in MODULES:
        layer_of(module)


def test_no_module_imports_from_a_layer_above_it():
    upward = [
        f"{m}:{line} imports {target} ({' | '.join(LAYERS[layer_of(target)])} is above "
        f"{' | '.join(LAYERS[layer_of(m)])})"
        for m, edges in GRAPH.items()
        for target, line, _ in edges
        if layer_of(target) < layer_of(m)
    ]
    assert upward == []


def test_the_import_graph_has_no_circles():
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []
    counter = [0]

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w, _, _ in GRAPH[v]:
            if w == v:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(GRAPH):
        if module not in index:
            visit(module)
    assert cycles == []


def test_function_local_project_imports_say_why():
    """A project import inside a function hides a dependency; the line above says why."""
    silent = []
    for module, edges in GRAPH.items():
        lines = MODULES[module].read_text().splitlines()
        for _, line, local in edges:
            if not local or module.startswith("escalations.migrations"):
                continue
            above = lines[line - 2].strip() if line >= 2 else ""
            if not above.startswith("#") and "#" not in lines[line - 1]:
                silent.append(f"{module}:{line}")
    assert silent == []
