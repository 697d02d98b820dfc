"""The package's layout keeps its promises (docs/architecture.md): no module over 400 lines,
no import cycle, no private name imported across modules, imports only down the layers, and
no engine (torch) for ``--help`` or a config check."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "src" / "sdae"
MAX_LINES = 400
# each package (or top-level module) and the layer it sits in: imports go to equal or lower
LAYERS = {
    "errors": 0, "rng": 0, "devices": 0, "failpoints": 0, "pretrained": 0, "__init__": 9,
    "__main__": 9,
    "data": 1, "config": 2, "evaluation": 3, "nn": 3, "io": 4, "runs": 5, "reproduce": 6,
    "cli": 7, "sklearn": 7,
}  # fmt: skip


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imports(path: Path) -> list[tuple[str, str | None]]:
    """``(module, name)`` of every sdae import in ``path``, function-local ones too (a cycle
    through a lazy import is still a cycle), except those only for type checkers."""
    found: list[tuple[str, str | None]] = []

    def visit(node: ast.AST) -> None:
        nonlocal found
        for child in ast.iter_child_nodes(node):
            if _type_checking(child):
                continue
            if isinstance(child, ast.ImportFrom) and child.module and child.level == 0 \
                    and child.module.split(".")[0] == "sdae":  # fmt: skip
                for alias in child.names:
                    sub = f"{child.module}.{alias.name}"
                    found.append((sub, None) if sub in MODULES else (child.module, alias.name))
            elif isinstance(child, ast.Import):
                found += [(a.name, None) for a in child.names if a.name.split(".")[0] == "sdae"]
            visit(child)

    visit(ast.parse(path.read_text()))
    return found


GRAPH = {m: {dep for dep, name in imports(p)
             if dep in MODULES and dep != m and name != "__version__"}
         for m, p in MODULES.items()}  # fmt: skip


def layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS[parts[1] if len(parts) > 1 else "__init__"]


def test_no_module_over_400_lines():
    long = {m: n for m, p in MODULES.items() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of the directed graph as a list of nodes, or None (depth-first search)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := dfs(nxt)):
                return cycle
        state[node] = 2
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := dfs(node)):
            return cycle
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle():
    # a package's __init__ importing its own modules is no cycle of concepts
    graph = {m: {d for d in deps if not m.startswith(d + ".")} for m, deps in GRAPH.items()}
    assert find_cycle(graph) is None


def test_no_private_name_crosses_modules():
    crossing = [(m, f"{dep}.{name}") for m, p in MODULES.items() for dep, name in imports(p)
                if name and name.startswith("_") and name != "__version__"]  # fmt: skip
    assert not crossing


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_down_the_layers(module):
    upward = sorted(d for d in GRAPH[module] if layer(d) > layer(module))
    assert not upward, f"{module} (layer {layer(module)}) imports {upward}"


def test_help_and_config_errors_load_no_engine():
    """`sdae --help`, `sdae dae --help` and a config refused at a flag import no torch."""
    code = ("import sys; from sdae.cli import main\n"
            "for argv in (['--help'], ['dae', '--help'], ['sae', '--help']):\n"
            "    try: main(argv)\n"
            "    except SystemExit: pass\n"
            "assert main(['dae', '--lr', '0']) == 2\n"
            "assert main(['sae', '--protocol', 'mini', '--labels-per-class', '700']) == 2\n"
            "heavy = {'torch', 'matplotlib', 'sklearn'} & set(sys.modules)\n"
            "assert not heavy, heavy")  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_the_lazy_api_and_its_type_checking_names_agree():
    """``sdae.__init__``: the names the IDE block imports are the lazy API's, each from the
    module the API says, and each resolves."""
    import sdae

    tree = ast.parse((ROOT / "__init__.py").read_text())
    block = next(n for n in tree.body if _type_checking(n))
    typed = {(n.module, a.name) for n in ast.walk(block) if isinstance(n, ast.ImportFrom)
             for a in n.names}  # fmt: skip
    lazy = {(module, name) for module, names in sdae.API.items() for name in names}
    assert typed == lazy
    assert all(getattr(sdae, name) is not None for _, name in lazy)


@pytest.mark.parametrize("argv", [["dae", "--out", "FILE"], ["sae", "--data-dir", "/nowhere"]])
def test_a_bad_out_or_data_folder_prints_no_config(argv, tmp_path, monkeypatch, capsys):
    from sdae.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "FILE").write_text("mine")
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("sdae: error: ")
