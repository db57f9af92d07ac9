"""The package's structure: layers that import only downwards, no import cycles between modules,
no private names across modules.

Every ``import`` counts, also one inside a function (a lazy import still ties the
two modules together).  A module may use its own ``_helpers``; a helper another
module needs is made public where it belongs (issue 11).
"""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "alis_research"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _resolve(module: str, node: ast.ImportFrom) -> str:
    """The absolute module an ``ImportFrom`` names."""
    if not node.level:
        return node.module or ""
    package = module.split(".") if MODULES[module].name == "__init__.py" else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(module: str) -> tuple[set[str], list[str]]:
    """The package modules ``module`` imports, and the private names it takes from other modules."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    targets: set[str] = set()
    private: list[str] = []
    aliases: dict[str, str] = {}  # local name -> package module it is bound to
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in MODULES:
                    targets.add(alias.name)
                    if alias.asname:
                        aliases[alias.asname] = alias.name
        elif isinstance(node, ast.ImportFrom):
            source = _resolve(module, node)
            if source not in MODULES:
                continue
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                if submodule in MODULES:  # from . import cohort
                    targets.add(submodule)
                    aliases[alias.asname or alias.name] = submodule
                else:
                    targets.add(source)
                    if _is_private(alias.name) and source != module:
                        private.append(f"{module}: from {source} import {alias.name} (line {node.lineno})")
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
                and _is_private(node.attr) and aliases[node.value.id] != module):
            private.append(f"{module}: {node.value.id}.{node.attr} of {aliases[node.value.id]} (line {node.lineno})")
    targets.discard(module)
    return targets, private


GRAPH = {module: imports_of(module)[0] for module in MODULES}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _without_package_inits(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Drop edges *to* a package's ``__init__`` from inside that package (``from .. import config`` in
    ``report/sections.py`` reaches ``alis_research`` only for the submodule): those are not cycles."""
    return {module: {t for t in targets if not module.startswith(t + ".")} for module, targets in graph.items()}


def test_no_import_cycles_between_modules():
    cycles = _cycles(_without_package_inits(GRAPH))
    assert not cycles, "import cycles (break them by moving the shared code down a layer):\n" + \
        "\n".join(" <-> ".join(c) for c in cycles)


def test_no_private_names_across_modules():
    private = [line for module in MODULES for line in imports_of(module)[1]]
    assert not private, "private names used across modules (make the helper public where it belongs):\n" + \
        "\n".join(private)


def test_the_checker_sees_a_cycle_and_a_private_import():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert GRAPH["alis_research.cli.data"] >= {"alis_research.config", "alis_research.data.validate"}
    assert _is_private("_attempt") and not _is_private("__version__") and not _is_private("attempt")


#: The layers, lowest first: a module may import from its own layer and the layers below it,
#: never from a layer above, and never across the two middle layers of the same height
#: (``data`` and ``stats`` do not know each other). The base is the package's top level:
#: config, errors, identity, messages, result, figures, disclosure, reference.
LAYER_HEIGHT = {"base": 0, "data": 1, "stats": 1, "analysis": 2, "report": 3, "cli": 4}


def layer_of(module: str) -> str | None:
    """``data``, ``stats``, ``analysis``, ``report``, ``cli`` or ``base``; None for the package itself
    (``alis_research/__init__.py`` is the public API and imports lazily from every layer)."""
    parts = module.split(".")
    if len(parts) == 1:
        return None
    return parts[1] if parts[1] in LAYER_HEIGHT else "base"


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    found = []
    for module, targets in sorted(graph.items()):
        own = layer_of(module)
        if own is None:
            continue
        for target in sorted(targets):
            other = layer_of(target)
            if other is None or other == own:
                continue
            if LAYER_HEIGHT[other] >= LAYER_HEIGHT[own]:
                found.append(f"{module} ({own}) imports {target} ({other})")
    return found


def test_layers_import_only_downwards():
    violations = layer_violations(_without_package_inits(GRAPH))
    assert not violations, "imports against the layers (raw -> data -> stats -> analysis -> report -> cli):\n" + \
        "\n".join(violations)


def test_the_layer_check_sees_an_upward_import():
    graph = {"alis_research.analysis.costs": {"alis_research.report.text", "alis_research.stats.km"},
             "alis_research.data.cohort": {"alis_research.stats.km", "alis_research.config"}}
    assert layer_violations(graph) == [
        "alis_research.analysis.costs (analysis) imports alis_research.report.text (report)",
        "alis_research.data.cohort (data) imports alis_research.stats.km (stats)",
    ]
