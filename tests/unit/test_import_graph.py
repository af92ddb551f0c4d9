"""The package's imports point one way: no cycle, not even through an import inside a function.

Walks every module of ``numerai_aci_wizard`` with ``ast`` (so an import inside a
function counts as much as one at the top), resolves relative imports, and fails naming
the modules of any cycle. Imports under ``if TYPE_CHECKING:`` are left out: they never
run, and a type may name the layer above it (a screen names the App it lives in).
"""

from __future__ import annotations

import ast
from pathlib import Path

import numerai_aci_wizard

PACKAGE = "numerai_aci_wizard"
ROOT = Path(numerai_aci_wizard.__file__).parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([PACKAGE, *parts])


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in ROOT.rglob("*.py")}


def _resolve(target: str, modules: dict[str, Path]) -> str | None:
    """The package module an import names (``a.b.c`` may be a module or a name in ``a.b``)."""
    while target:
        if target in modules:
            return target
        target = target.rpartition(".")[0]
    return None


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_nodes(tree: ast.AST, *, type_only: bool = False) -> list[ast.AST]:
    """Every node; with ``type_only`` False, not the bodies of ``if TYPE_CHECKING:`` blocks."""
    out: list[ast.AST] = []
    todo: list[ast.AST] = [tree]
    while todo:
        node = todo.pop()
        out.append(node)
        if not type_only and isinstance(node, ast.If) and _is_type_checking(node.test):
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))
    return out


def import_graph(*, type_only: bool = False) -> dict[str, set[str]]:
    """Module -> the package modules it imports; ``type_only`` counts ``TYPE_CHECKING`` ones."""
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        here = name if is_package else name.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in _runtime_nodes(tree, type_only=type_only):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = here.split(".")
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join([*anchor, base]) if base else ".".join(anchor)
                targets = [f"{base}.{a.name}" for a in node.names]
            for target in targets:
                if not target.startswith(PACKAGE):
                    continue
                found = _resolve(target, modules)
                if found and found != name and not name.startswith(found + "."):
                    graph[name].add(found)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
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
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_walker_sees_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_walker_sees_imports_inside_functions() -> None:
    graph = import_graph()
    # cli imports commands and the wizard only inside main(): they must still be edges
    assert f"{PACKAGE}.commands" in graph[f"{PACKAGE}.cli"]
    assert f"{PACKAGE}.tui.app" in graph[f"{PACKAGE}.cli"]


def test_the_walker_leaves_out_type_checking_imports() -> None:
    tree = ast.parse(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import a\nimport b\n"
    )
    names = [a.name for n in _runtime_nodes(tree) if isinstance(n, ast.Import) for a in n.names]
    assert names == ["b"]


def test_the_core_never_imports_the_front_ends_or_the_services() -> None:
    """settings, plan, events, engines, store, secrets, pipeline, session: no tui, no SDK service."""
    graph = import_graph()
    core = [
        f"{PACKAGE}.{m}"
        for m in (
            "settings",
            "plan",
            "events",
            "engines",
            "store",
            "secrets",
            "pipeline",
            "workflow",
        )
    ]
    for module in core:
        assert not {t for t in graph[module] if ".tui" in t or ".services" in t}, module


def test_no_import_cycle_in_the_package() -> None:
    assert cycles(import_graph()) == []


def test_no_import_cycle_even_through_type_only_imports() -> None:
    """A screen names its host by a Protocol (tui/host.py), not the App that imports it."""
    assert cycles(import_graph(type_only=True)) == []


def test_the_engines_seam_imports_nothing_from_the_services() -> None:
    """engines.py declares the result types the services return; never the other way up."""
    graph = import_graph(type_only=True)
    assert {t for t in graph[f"{PACKAGE}.engines"] if ".services" in t} == set()
