"""The import layers of docs/architecture.md hold: a module imports only its own layer or below, and nothing cycles.

Every import counts, at the top of a file or inside a function, so an import moved into a function to dodge a cycle
fails here as a cycle. The package root (rmft_jax/__init__.py) may re-export from any layer, lazily.
"""

from __future__ import annotations

import ast
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("rmft_jax", "experiments", "theory", "benchmarks")

# Lowest first. A module's layer is that of the longest prefix listed here.
LAYERS = {
    "rmft_jax.core": 0,
    "rmft_jax._checks": 0,
    "rmft_jax.envs": 1,
    "rmft_jax.models": 1,
    "rmft_jax.baselines": 1,
    "rmft_jax.regret": 1,
    "rmft_jax.metrics": 1,
    "rmft_jax.intervals": 1,
    "rmft_jax.parallel": 1,
    "rmft_jax.plotting": 1,
    "rmft_jax.bandit_plots": 1,
    "rmft_jax.attacks": 2,
    "rmft_jax.tasks": 2,
    "rmft_jax.training": 3,
    "rmft_jax.studies": 4,
    "experiments": 5,
    "theory": 5,
    "benchmarks": 5,
}
EXEMPT = ("rmft_jax",)  # the package root: lazy re-exports from any layer


def module_files() -> dict[str, str]:
    """Every first-party module name -> its file."""
    out = {}
    for package in PACKAGES:
        for folder, _, files in os.walk(os.path.join(ROOT, package)):
            for name in files:
                if name.endswith(".py"):
                    path = os.path.join(folder, name)
                    module = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
                    out[module.removesuffix(".__init__")] = path
    return out


def imports_of(module: str, path: str, modules: dict) -> list[tuple[str, int]]:
    """(first-party module imported, line) for every import statement in the file, nested ones included."""
    out = []
    for node in ast.walk(ast.parse(open(path).read())):
        if isinstance(node, ast.Import):
            out += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".")
                parts = parts if path.endswith("__init__.py") else parts[:-1]
                base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                out.append((full if full in modules else base, node.lineno))
    return [(name, line) for name, line in out if name.split(".")[0] in PACKAGES]


def layer_of(module: str) -> int | None:
    """The layer of the longest listed prefix of module (None: unlisted)."""
    matches = [p for p in LAYERS if module == p or module.startswith(p + ".")]
    return LAYERS[max(matches, key=len)] if matches else None


def graph() -> dict[str, list[tuple[str, int]]]:
    """module -> its first-party imports (resolved to modules that exist)."""
    modules = module_files()
    out = {}
    for module, path in modules.items():
        resolved = []
        for name, line in imports_of(module, path, modules):
            while name not in modules and "." in name:
                name = name.rsplit(".", 1)[0]
            if name in modules and name != module:
                resolved.append((name, line))
        out[module] = resolved
    return out


def test_every_module_has_a_layer():
    unlisted = [m for m in module_files() if m not in EXEMPT and layer_of(m) is None]
    assert not unlisted, f"modules in no layer (add them to LAYERS and docs/architecture.md): {unlisted}"


def test_no_module_imports_a_higher_layer():
    bad = [
        f"{module} (layer {layer_of(module)}) imports {name} (layer {layer_of(name)}) at line {line}"
        for module, edges in graph().items()
        if module not in EXEMPT
        for name, line in edges
        if name not in EXEMPT and layer_of(name) > layer_of(module)
    ]
    assert not bad, "\n".join(bad)


def test_no_module_imports_the_package_root():
    bad = [
        f"{m} imports the package root (line {line})"
        for m, edges in graph().items()
        for n, line in edges
        if n in EXEMPT and m not in EXEMPT
    ]
    assert not bad, "\n".join(bad)


def test_the_import_graph_has_no_cycle():
    edges = {m: sorted({n for n, _ in e if n not in EXEMPT}) for m, e in graph().items() if m not in EXEMPT}
    state, stack, cycles = {}, [], []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in edges.get(node, ()):
            if state.get(nxt) == "open":
                cycles.append(" -> ".join(stack[stack.index(nxt) :] + [nxt]))
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert not cycles, "import cycles (an import inside a function does not break one):\n" + "\n".join(cycles)


def test_the_checker_sees_nested_and_relative_imports(tmp_path):
    path = tmp_path / "mod.py"
    path.write_text("from . import sibling\ndef f():\n    from rmft_jax.training import driver\n")
    modules = {"rmft_jax.tasks.sibling": "", "rmft_jax.training.driver": ""}
    found = imports_of("rmft_jax.tasks.mod", str(path), modules)
    assert found == [("rmft_jax.tasks.sibling", 1), ("rmft_jax.training.driver", 3)]
    assert layer_of("rmft_jax.training.driver") > layer_of("rmft_jax.tasks.sibling")
