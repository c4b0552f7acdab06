"""Stand-ins for torch modules that nothing has loaded yet, during a trace (issue 22 item 10).

Tracing on meta tensors runs torch's own Python kernels, which import ``torch._dynamo`` (through
``torch._disable_dynamo``), ``torch.fx.experimental.symbolic_shapes`` (through ``torch._check``) and
``sympy`` (through ``elementwise_dtypes``) only to ask questions whose answer, for the plain Python
values a meta trace has, is known: loading them cost the first trace 2-3 s. While a trace runs, each
of them not yet loaded is a :class:`_NotLoaded` module that answers those questions as the real one
would and loads the real module for any other name; the stand-ins are removed when the trace ends."""
from __future__ import annotations

import contextlib
import functools
import sys
import types


def dynamo_off_if_loaded(fn):
    """``fn`` run outside Dynamo, as torch runs every dispatch mode's ``__torch_dispatch__``, but
    without importing ``torch._dynamo`` to say so: until something has imported it (a forward
    calling ``torch.compile``), nothing can be compiling, and ``fn`` is called as it is."""
    off = None

    @functools.wraps(fn)
    def inner(*args, **kwargs):
        nonlocal off
        dynamo = sys.modules.get("torch._dynamo")
        if dynamo is None or isinstance(dynamo, _NotLoaded):
            return fn(*args, **kwargs)
        if off is None:
            off = dynamo.disable(fn, recursive=True)
        return off(*args, **kwargs)

    return inner


class _NotLoaded(types.ModuleType):
    """Stands, during a trace, for a module that nothing has imported yet, answering only the
    calls a meta trace makes with plain Python values (:data:`_STANDINS`); any other name loads
    the real module (and removes the stand-in):

    * ``torch._dynamo``: torch's own Python kernels (the meta decompositions) are wrapped in
      ``torch._disable_dynamo``, whose first call imports Dynamo only to ask for ``disable(fn)``;
      the answer is :func:`dynamo_off_if_loaded` (the same function, outside Dynamo once loaded);
    * ``torch.fx.experimental.symbolic_shapes``: ``torch._check`` in the meta kernels asks
      ``expect_true(cond)``, which for a plain ``bool`` is ``cond`` (and a few more such questions);
    * ``sympy``: ``elementwise_dtypes`` asks ``isinstance(x, sympy.Basic)``: never, while sympy is
      not loaded."""

    def __init__(self, name: str, answers: dict):
        super().__init__(name)
        self.__dict__.update(answers)

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):   # the import system's probes (__path__)
            raise AttributeError(name)
        _unstub(self)
        import importlib

        return getattr(importlib.import_module(self.__name__), name)


def _plain(name: str, on_plain):
    """``symbolic_shapes.<name>`` for plain Python values (what a meta trace passes, with its real
    behaviour on them: :func:`on_plain`); anything symbolic goes to the real function."""
    def call(*args, **kwargs):
        if all(type(a) in (bool, int) or (type(a) in (tuple, list) and all(type(x) is int for x in a))
               for a in args):
            return on_plain(*args, **kwargs)
        return _real_attr("torch.fx.experimental.symbolic_shapes", name)(*args, **kwargs)

    return call


def _sym_reduce(op):
    return lambda x, *others: functools.reduce(op, others, x)


_SYMBOLIC_PLAIN = {
    "expect_true": lambda a, skip=0: a, "guard_size_oblivious": lambda a: a, "statically_known_true": lambda a: a,
    "guard_or_false": lambda a: bool(a), "guard_or_true": lambda a: bool(a),
    "sym_and": _sym_reduce(lambda x, y: x & y), "sym_or": _sym_reduce(lambda x, y: x | y),
    "sym_eq": lambda x, y: tuple(x) == tuple(y) if isinstance(x, (tuple, list)) else x == y,
    "guarding_hint_or_throw": lambda a: a, "has_guarding_hint": lambda a: True, "is_nested_int": lambda a: False,
}


def _real_attr(module: str, name: str):
    stub = sys.modules.get(module)
    if isinstance(stub, _NotLoaded):
        _unstub(stub)
    import importlib

    return getattr(importlib.import_module(module), name)


def _disable(fn=None, recursive=True, **_):
    return functools.partial(_disable, recursive=recursive) if fn is None else dynamo_off_if_loaded(fn)


_STANDINS = {"torch._dynamo": {"disable": _disable},
             "torch.fx.experimental.symbolic_shapes": {k: _plain(k, f) for k, f in _SYMBOLIC_PLAIN.items()},
             # torch._prims_common.elementwise_dtypes imports sympy to ask isinstance(x, sympy.Basic):
             # nothing is a sympy expression while sympy is not loaded
             "sympy": {"Basic": type("Basic", (), {})}}


def _unstub(stub) -> None:
    name = stub.__name__
    if sys.modules.get(name) is stub:
        del sys.modules[name]
    parent, _, attr = name.rpartition(".")
    pkg = sys.modules.get(parent) if parent else None
    if pkg is not None and pkg.__dict__.get(attr) is stub:
        delattr(pkg, attr)


@contextlib.contextmanager
def compiler_unloaded():
    """During the trace, ``import torch._dynamo`` (from ``torch._compile``) and ``import
    torch.fx.experimental.symbolic_shapes`` (from ``torch._check``) find the stand-ins above unless
    already loaded; they are gone afterwards (a later import loads the real modules)."""
    stubs = []
    for name, answers in _STANDINS.items():
        parent, _, attr = name.rpartition(".")
        if name in sys.modules:
            continue
        import importlib

        pkg = importlib.import_module(parent) if parent else None    # torch.fx.experimental: an empty package
        if pkg is not None and attr in pkg.__dict__:
            continue
        stub = _NotLoaded(name, answers)
        sys.modules[name] = stub
        if pkg is not None:
            setattr(pkg, attr, stub)
        stubs.append(stub)
    try:
        yield
    finally:
        for stub in stubs:
            _unstub(stub)
