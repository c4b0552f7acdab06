"""The package's layers: what may import what (ARCHITECTURE.md), no import circles, one op
taxonomy that every downstream pass knows."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

import costlab
from costlab import ops

PKG = Path(costlab.__file__).resolve().parent

# lower number = lower layer; a module may import its own layer or lower ones
LAYERS = {
    "errors": 0,
    "zoo": 1,
    "ir": 2, "ops": 2, "tracer": 2, "report": 2, "spec": 2,
    "counts": 3, "guidelines": 3, "latency": 3, "memory": 3,
    "api": 4,
    "calibrate": 5, "compare": 5, "compress": 5, "reproduce": 5, "crosscheck": 5, "advise": 5,
    "search": 5, "sweep": 5,
    "cli": 6,
}
# presentation takes plain data: it may import these and nothing else of costlab
PRESENT_MAY_IMPORT = {"errors", "report", "present", "guidelines.result", "compress.api", "compress.result"}
# the core and the zoo never import these
NEVER_FROM_CORE = {"cli", "reproduce", "present.plots", "calibrate"}


def _modules() -> dict[str, Path]:
    out = {}
    for p in PKG.rglob("*.py"):
        rel = p.relative_to(PKG).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def _imports(name: str, path: Path) -> set[str]:
    """costlab-relative names imported anywhere in the module (lazy imports included)."""
    tree = ast.parse(path.read_text())
    pkg = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg[: len(pkg) - (node.level - 1)] if node.level > 1 else pkg
                mod = ".".join(base + ([node.module] if node.module else []))
            elif node.module and node.module.startswith("costlab"):
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
    return {f for f in found if f}


_ALL = _modules()


def _top(name: str) -> str:
    return name.split(".")[0]


def _layer(name: str) -> int | None:
    return LAYERS.get(_top(name))


EDGES = {m: {i for i in _imports(m, p) if i in _ALL or _top(i) in LAYERS or _top(i) == "present"}
         for m, p in _ALL.items() if m}


def test_every_module_has_a_layer():
    unknown = sorted(m for m in EDGES if _top(m) not in LAYERS and _top(m) != "present")
    assert not unknown, f"modules outside the layer map (add them to ARCHITECTURE.md and LAYERS): {unknown}"


@pytest.mark.parametrize("mod", sorted(EDGES))
def test_imports_go_down_only(mod):
    if _top(mod) == "present":
        bad = [i for i in EDGES[mod] if not any(i == a or i.startswith(a + ".") for a in PRESENT_MAY_IMPORT)]
        assert not bad, f"{mod} (presentation) imports {bad}"
        return
    lv = _layer(mod)
    bad = []
    for i in EDGES[mod]:
        if _top(i) == "present":
            if lv <= 2 or (i.startswith("present.plots") and lv < 5):
                bad.append(i)
            continue
        li = _layer(i)
        if li is not None and li > lv:
            bad.append(i)
        if lv <= 2 and any(i == n or i.startswith(n + ".") for n in NEVER_FROM_CORE):
            bad.append(i)
    assert not bad, f"{mod} (layer {lv}) imports higher layers: {sorted(set(bad))}"


def test_no_import_cycles():
    # edges between modules (a package's __init__ counts as the package module)
    graph = {m: {i for i in deps if i in EDGES and i != m} for m, deps in EDGES.items()}
    index, low, stack, on, cycles, counter = {}, {}, [], set(), [], [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
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


def test_every_op_category_is_known_downstream():
    from costlab.guidelines import GROUP_OF_CATEGORY
    from costlab.latency.features import CLASSES, CLASS_OF_CATEGORY

    cats = {spec.category for spec in ops.registered().values()} | {"unsupported"}
    assert cats <= set(ops.CATEGORIES) | {"unsupported"}
    for c in cats:
        assert c in CLASS_OF_CATEGORY, f"category {c!r} has no latency class"
        assert CLASS_OF_CATEGORY[c] is None or CLASS_OF_CATEGORY[c] in CLASSES
    assert set(ops.CATEGORIES) <= set(GROUP_OF_CATEGORY)


def test_register_refuses_duplicates_and_unknown_categories():
    with pytest.raises(ValueError, match="twice"):
        ops.register("aten.relu", "relu", lambda n: (0, 0), category="activation")
    with pytest.raises(ValueError, match="category"):
        ops.register("aten.not_an_op_xyz", "x", lambda n: (0, 0), category="nonsense")


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
