"""The package's shape: layers that import only downwards, no cycles (lazy imports included), small modules."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "src" / "chainrule"

# Each subpackage may import only from the ones listed (and from itself, and from `errors`).
ALLOWED: dict[str, set[str]] = {
    "engine": set(),
    "record": {"engine"},
    "check": {"engine", "record"},
    "io": {"engine"},
    "train": {"engine", "io"},
    "views": {"engine", "record", "check"},
    "plots": {"engine", "io", "train"},
    "sklearn": {"engine", "record", "io", "train"},
    "web": {"engine", "record", "io", "train", "views"},
    "cli": {"engine", "record", "check", "io", "train", "views", "plots", "web"},
}
TOP_LEVEL = {"__init__.py", "__main__.py", "errors.py"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every chainrule module `path` imports, at module level or inside a function."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("chainrule")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            if not base.startswith("chainrule"):
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if _exists(sub) else base)
    return found


def _exists(module: str) -> bool:
    path = PACKAGE.parent / module.replace(".", "/")
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def _graph() -> dict[str, set[str]]:
    return {_module_name(p): _imports(p) for p in PACKAGE.rglob("*.py")}


def test_no_import_cycles() -> None:
    graph = _graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*trail[trail.index(nxt) :], nxt] if nxt in trail else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert cycles == []


def test_layers_import_only_downwards() -> None:
    wrong = []
    for module, imported in _graph().items():
        parts = module.split(".")
        if len(parts) < 2 or parts[1] not in ALLOWED:
            continue
        layer = parts[1]
        for target in imported:
            tparts = target.split(".")
            if target in ("chainrule", "chainrule.errors") or len(tparts) < 2:
                continue
            if tparts[1] != layer and tparts[1] not in ALLOWED[layer]:
                wrong.append(f"{module} imports {target}")
    assert wrong == []


def test_modules_live_in_subpackages_and_stay_small() -> None:
    loose = sorted(p.name for p in PACKAGE.glob("*.py") if p.name not in TOP_LEVEL)
    assert loose == []
    long = sorted(
        f"{p.relative_to(PACKAGE)}: {n}" for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) >= 400
    )
    assert long == []


def test_the_short_api_is_lazy() -> None:
    """`import chainrule` loads no NumPy (the CLI's start stays fast); its names load on first use."""
    import subprocess
    import sys

    code = (
        "import sys, chainrule; assert 'numpy' not in sys.modules;"
        "net = chainrule.load(); print(chainrule.explain_step(net).values['dL/dw5'])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "0.08216704056423078"
