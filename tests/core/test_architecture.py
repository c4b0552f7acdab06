"""The package's layers: what may import what (ARCHITECTURE.md), no import circles, no long
files or functions.

Every module sits on one layer (:data:`LAYER_OF`, the longest matching prefix of its dotted
name) and imports only its own layer and the layers below it (:data:`LAYERS`); there is no
list of exceptions. An import counts wherever it is written (a lazy import in a function
too), and importing ``a.b.c`` also runs ``a/__init__.py`` and ``a/b/__init__.py``, so their
module-level imports count as imports of ``a.b.c``.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import costlab

PKG = Path(costlab.__file__).resolve().parent

# layer -> the layers right below it that it may import (and, through them, everything below)
LAYERS: dict[str, tuple[str, ...]] = {
    "base": (),                          # errors, atomic writes
    "data": ("base",),                   # plain data: the IR, the report, result types of passes
    "zoo": ("base",),                    # model builders
    "present": ("data",),                # presentation: plain data in, text and figures out
    "core": ("data", "zoo"),             # the op registry, the tracer, model specs
    "passes": ("core",),                 # counts, guidelines, latency: a Report in, a result out
    "api": ("passes",),                  # the facade: trace, then passes
    "features": ("api", "present"),      # commands' work above the facade
    "cli": ("features",),
}
# module (or package, for all its modules) -> its layer; the longest matching prefix wins
LAYER_OF: dict[str, str] = {
    "": "api",                           # costlab/__init__.py: re-exports analyze (lazily)
    "errors": "base", "io": "base", "progress": "base",
    "ir": "data", "report": "data", "guidelines.result": "data", "compress.result": "data",
    "zoo": "zoo",
    "present": "present",
    "ops": "core", "tracer": "core", "meta_kernels": "core", "standins": "core", "spec": "core", "frontends": "core",
    "counts": "passes", "guidelines": "passes", "latency": "passes", "memory": "passes",
    "api": "api",
    "calibrate": "features", "compare": "features", "compress": "features", "reproduce": "features",
    "crosscheck": "features", "advise": "features", "search": "features", "sweep": "features", "sweep_ray": "features",
    "blocks": "features",
    "crosscheck_onnx": "features", "runtimes": "features",
    "cli": "cli", "entry": "cli",
}


def _below(layer: str) -> set[str]:
    """The layers ``layer`` may import: itself and everything below it."""
    out, todo = set(), [layer]
    while todo:
        lv = todo.pop()
        if lv not in out:
            out.add(lv)
            todo.extend(LAYERS[lv])
    return out


def _modules() -> dict[str, Path]:
    out = {}
    for p in PKG.rglob("*.py"):
        rel = p.relative_to(PKG).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


_ALL = _modules()


def layer_of(name: str) -> str | None:
    parts = name.split(".") if name else []
    for i in range(len(parts), -1, -1):
        lv = LAYER_OF.get(".".join(parts[:i]))
        if lv is not None and (i > 0 or not name):
            return lv
    return None


def _eager_nodes(tree: ast.Module):
    """The statements that run when the module is imported (not function bodies or
    ``if TYPE_CHECKING:`` blocks)."""
    todo = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            todo.extend(node.orelse)
            continue
        yield node
        todo.extend(ast.iter_child_nodes(node))


def _imports(name: str, path: Path, eager: bool = False) -> set[str]:
    """costlab-relative modules imported anywhere in the module (lazy imports included), or
    only at import time (``eager``)."""
    tree = ast.parse(path.read_text())
    pkg = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    if not name:
        pkg = []
    found = set()
    for node in (_eager_nodes(tree) if eager else ast.walk(tree)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg[: len(pkg) - (node.level - 1)] if node.level > 1 else pkg
                mod = ".".join(base + ([node.module] if node.module else []))
            elif node.module and (node.module == "costlab" or node.module.startswith("costlab.")):
                mod = node.module[len("costlab."):] if node.module != "costlab" else ""
            else:
                continue
            for a in node.names:
                full = f"{mod}.{a.name}" if mod else a.name
                found.add(full if full in _ALL else mod)
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("costlab."):
                    found.add(a.name[len("costlab."):])
    return found


def _ancestors(name: str) -> list[str]:
    parts = name.split(".") if name else []
    return [".".join(parts[:i]) for i in range(len(parts))]


OWN = {m: _imports(m, p) for m, p in _ALL.items()}
EAGER = {m: _imports(m, p, eager=True) for m, p in _ALL.items()}
# what importing a module runs: its own imports and its packages' module-level ones
EDGES = {m: OWN[m] | {i for a in _ancestors(m) for i in EAGER.get(a, ()) if i != m}
         for m in _ALL}


def upward_imports(edges: dict[str, set[str]]) -> dict[str, list[str]]:
    """module -> the modules it imports that sit on no layer or on a layer it may not import."""
    bad = {}
    for m, deps in edges.items():
        allowed = _below(layer_of(m)) if layer_of(m) is not None else set()
        wrong = sorted(i for i in deps if i not in _ALL or layer_of(i) not in allowed)
        if wrong:
            bad[m] = wrong
    return bad


def test_every_module_sits_on_a_layer():
    assert set(LAYER_OF.values()) <= set(LAYERS)
    unknown = sorted(m for m in _ALL if layer_of(m) is None)
    assert not unknown, f"modules outside the layer map (add them to ARCHITECTURE.md and LAYER_OF): {unknown}"
    missing = sorted({i for deps in EDGES.values() for i in deps if i not in _ALL})
    assert not missing, f"imports of modules that do not exist: {missing}"


@pytest.mark.parametrize("mod", sorted(_ALL))
def test_imports_go_down_only(mod):
    bad = upward_imports({mod: EDGES[mod]}).get(mod, [])
    assert not bad, (f"{mod} (layer {layer_of(mod)}) imports {[(i, layer_of(i)) for i in bad]}; it may import "
                     f"the layers {sorted(_below(layer_of(mod)))}")


def test_the_layer_check_catches_an_upward_import():
    """The check above can fail: a pass importing presentation, a result type whose package
    loads its pass, and a module on no layer are all reported."""
    fake = {"latency.predict": {"present.tables"}, "guidelines.result": {"guidelines.lint"},
            "errors": {"io"}, "tracer": {"not_a_module"}}
    assert set(upward_imports(fake)) == {"latency.predict", "guidelines.result", "tracer"}
    assert "guidelines.result" not in upward_imports({"guidelines.result": {"errors"}})


def test_result_types_and_presentation_import_no_pass():
    """Importing presentation (and the result types it reads) loads only base and data
    modules: no pass, no tracer, no facade. (The packages around the result types load too;
    what their ``__init__`` imports is checked above.)"""
    present = sorted(m for m in _ALL if m.startswith("present.") and m != "present.plots")
    code = ("import sys\n" + "".join(f"import costlab.{m}\n" for m in present)
            + "print('\\n'.join(sorted(m[8:] for m in sys.modules if m.startswith('costlab.'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    loaded = {m: layer_of(m) for m in out if _ALL[m].name != "__init__.py"}
    assert "guidelines.result" in loaded and "compress.result" in loaded
    assert not {m: lv for m, lv in loaded.items() if lv not in _below("present")}, loaded


def test_the_package_root_loads_its_names_on_first_use():
    """``import costlab`` loads no pass; ``costlab.analyze``, ``costlab.Report`` and the
    subpackages (``costlab.latency.profile`` ...) still work as attributes."""
    code = ("import sys, costlab\n"
            "before = sorted(m for m in sys.modules if m.startswith('costlab.'))\n"
            "assert callable(costlab.analyze) and costlab.Report.__name__ == 'Report'\n"
            "assert callable(costlab.latency.profile.load_profile) and not hasattr(costlab, 'no_such_name')\n"
            "print(before)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_no_import_cycles():
    # edges between modules (a package's __init__ counts as the package module)
    graph = {m: {i for i in OWN[m] if i in _ALL and i != m} for m in _ALL if m}
    index, low, stack, on, cycles, counter = {}, {}, [], set(), [], [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            # a package importing its own submodules to re-export them is not a circle
            real = [c for c in comp if not any(o != c and o.startswith(c + ".") for o in comp)]
            if len(real) > 1:
                cycles.append(sorted(comp))

    for v in graph:
        if v not in index:
            strong(v)
    assert not cycles, f"import circles: {cycles}"


def test_no_long_files_or_functions():
    """No file over 600 lines outside data tables, no function over 80 lines."""
    data_tables = {"compress/tables.py"}
    long_files, long_funcs = [], []
    for name, p in _ALL.items():
        rel = str(p.relative_to(PKG))
        text = p.read_text()
        if rel not in data_tables and text.count("\n") > 600:
            long_files.append(rel)
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > 80:
                long_funcs.append(f"{rel}:{node.name}")
    assert not long_files and not long_funcs, f"files > 600 lines: {long_files}; functions > 80 lines: {long_funcs}"
