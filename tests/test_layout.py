"""The architecture as a test: no import circle in server/ or providers/, and data flows one way between the layers.

Every import counts, including those inside functions and under TYPE_CHECKING: a circle that only type checkers see
is still a circle a reader has to untangle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("server", "providers")

# Which layers each layer may import (besides itself). Top-level modules of server/ are named by their module name.
ALLOWED = {
    "providers": {"providers"},
    "server.tasks": {"providers"},
    "server.settings": {"providers"},
    "server.ledger": {"providers", "server.tasks", "server.settings"},
    "server.media": {"providers", "server.settings"},
    "server.engine": {"providers", "server.tasks", "server.settings", "server.ledger", "server.media"},
    "server.surface": {"providers", "server.tasks", "server.settings", "server.ledger", "server.media",
                       "server.engine", "server.runtime"},
    "server.runtime": {"providers", "server.settings", "server.surface", "server.engine"},
    "server.app": {"providers", "server.settings", "server.surface", "server.engine", "server.runtime"},
    "server.cli": {"providers", "server.tasks", "server.settings", "server.surface", "server.media", "server.app",
                   "server.engine", "server.ledger", "server.runtime"},
    "server.__main__": {"server.cli"},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    if not (ROOT / "server").is_dir():
        pytest.skip("the source tree is not beside the tests")
    return {module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """Our modules that `name` imports, resolved to modules (a `from pkg import mod` names the module)."""
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {m for m in found if m in known and m != name}


def layer(name: str) -> str:
    parts = name.split(".")
    return parts[0] if parts[0] == "providers" else ".".join(parts[:2])


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: imports_of(name, path, set(mods)) for name, path in mods.items()}


def test_no_import_circle():
    edges = graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                circle = stack[stack.index(nxt):] + [nxt]
                pytest.fail("import circle: " + " -> ".join(circle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)


def test_layers_import_only_downwards():
    wrong = []
    for name, targets in graph().items():
        own = layer(name)
        if own == "server":  # the package's own empty __init__
            continue
        allowed = ALLOWED.get(own)
        assert allowed is not None, f"{name}: a new layer {own!r}; give it a place in ALLOWED (and the README)"
        wrong += [f"{name} -> {t}" for t in sorted(targets) if layer(t) != own and layer(t) not in allowed]
    assert not wrong, "imports against the one-way flow:\n" + "\n".join(wrong)


def test_server_package_inits_do_no_work():
    for name, path in modules().items():
        if path.name == "__init__.py" and name.startswith("server"):
            body = ast.parse(path.read_text()).body
            assert all(isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant) for n in body), (
                f"{name}/__init__.py should hold at most a docstring")


def test_architecture_doc_names_every_folder():
    doc = (ROOT / "ARCHITECTURE.md").read_text()
    folders = sorted(p.name for p in (ROOT / "server").iterdir() if (p / "__init__.py").is_file())
    missing = [f for f in folders if f"server/{f}/" not in doc]
    assert not missing, f"ARCHITECTURE.md does not say what these are for: {missing}"
