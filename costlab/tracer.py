"""Dispatch-level tracer: run a model once and record every aten op as a graph node.

How it works (the approach of ``torch.utils.flop_counter``):

* A :class:`~torch.utils._python_dispatch.TorchDispatchMode` sees every aten op after
  autograd and composite decomposition, so functional ops (``F.relu``, ``x + y``,
  ``torch.cat``, a channel shuffle's ``transpose().contiguous()``) are captured like
  module calls.
* Module scopes come from *global* forward pre/post hooks, registered for the duration
  of the trace and removed in a ``finally`` block: nothing is attached to the model and
  nothing is patched, even when the forward raises. Training flags are switched to eval
  for the trace and restored afterwards.
* Tensors are meta tensors when the model lives on the meta device (zoo models are built
  there: no weight or activation memory at all), otherwise fake tensors
  (``FakeTensorMode``), so a VGG-16 at 224 costs no real activation memory. A forward
  whose Python control flow reads tensor *values* cannot run on meta/fake tensors; such
  a model is traced again on real zero inputs (``mode='auto'``), and the graph records
  which mode was used.
"""
from __future__ import annotations

import contextlib
import gc
import itertools
import sys
from typing import Any, Sequence

import torch
import torch.nn as nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from .ir import Graph, Node, Source, TensorMeta
from .errors import DataDependentError, TraceError  # noqa: F401
from .progress import TraceProgress, on_terminal
from .meta_kernels import fast_meta
from .standins import compiler_unloaded, dynamo_off_if_loaded

aten = torch.ops.aten

# ops that never become nodes: device/shape metadata
_METADATA_OPS = {"prim.device.default", "aten.sym_size.int", "aten.sym_stride.int",
                 "aten.sym_numel.default", "aten.sym_storage_offset.default",
                 "aten.is_same_size.default", "aten._local_scalar_dense.default"}
# ops that alias their input although their schema does not say so
_EXTRA_VIEW_OPS = {"aten._unsafe_view.default", "aten.lift_fresh.default"}




def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).replace("torch.", "")


def _meta(t: torch.Tensor) -> TensorMeta:
    return TensorMeta(tuple(int(d) for d in t.shape), _dtype_name(t.dtype))


_NAMES: dict = {}


def _op_name(func) -> str:
    name = _NAMES.get(func)
    if name is None:
        name = _NAMES[func] = f"{func.namespace}.{func._schema.name.split('::')[-1]}.{func._overloadname}"
    return name


_CONST = Source("const", None)
_INFO: dict = {}
_KINDS: dict = {}


def _op_info(func):
    """(name, argument names, is_view, inplace) per op, cached; None for metadata ops."""
    try:
        return _INFO[func]
    except KeyError:
        pass
    name = _op_name(func)
    if name in _METADATA_OPS:
        info = None
    else:
        schema = func._schema
        inplace = bool(schema.arguments and schema.arguments[0].alias_info is not None
                       and schema.arguments[0].alias_info.is_write)
        info = (name, tuple(a.name for a in schema.arguments),
                bool(func.is_view) or name in _EXTRA_VIEW_OPS, inplace)
    _INFO[func] = info
    return info


def _kind(kind_of, name: str) -> str:
    k = _KINDS.get((kind_of, name))
    if k is None:
        k = _KINDS[(kind_of, name)] = kind_of(name)
    return k


def _tensors(seq) -> list:
    """Tensors among ``seq`` and one level of nested lists (torch.cat's input)."""
    out = []
    for a in seq:
        if isinstance(a, torch.Tensor):
            out.append(a)
        elif isinstance(a, (list, tuple)):
            out.extend(x for x in a if isinstance(x, torch.Tensor))
    return out


class _Recorder:
    def __init__(self, model: nn.Module, kind_of):
        self.kind_of = kind_of
        self.nodes: list[Node] = []
        # progress only on a terminal; otherwise one comparison an op that is never true
        self.progress = TraceProgress() if on_terminal() else None
        self.next_tick = self.progress.first if self.progress is not None else -1
        self.origin: dict[int, Source] = {}
        self.keep: list[Any] = []            # keeps traced tensors alive so id()s stay unique
        named = list(model.named_modules())
        self.names = {id(m): n for n, m in named}
        self.types = {n: type(m).__name__ for n, m in named}
        self.param_names: dict[int, tuple[str, str, int]] = {}
        for name, p in model.named_parameters():
            self.param_names.setdefault(id(p), ("param", name, p.numel()))
        for name, b in model.named_buffers():
            self.param_names.setdefault(id(b), ("buffer", name, b.numel()))
        self.param_numel = {(k, name): numel for k, name, numel in self.param_names.values()}
        self.seen_params: set[str] = set()
        self.stack: list[str] = []
        self.stack_mods: list[int] = []

    # -- module scopes -------------------------------------------------------------
    def pre_hook(self, module, args):
        path = self.names.get(id(module))
        if path is None:  # a module created or borrowed inside forward
            parent = self.stack[-1] if self.stack else ""
            path = f"{parent}.<{type(module).__name__}>" if parent else f"<{type(module).__name__}>"
            self.types.setdefault(path, type(module).__name__)
        self.stack.append(path)
        self.stack_mods.append(id(module))

    def post_hook(self, module, args, output):
        mid = id(module)
        if mid in self.stack_mods:
            while self.stack_mods:
                top = self.stack_mods.pop()
                self.stack.pop()
                if top == mid:
                    break

    # -- ops -----------------------------------------------------------------------
    def source(self, t: torch.Tensor) -> Source:
        src = self.origin.get(id(t))
        if src is not None:
            return src
        p = self.param_names.get(id(t))
        if p is not None:
            return Source(p[0], p[1])
        return _CONST

    def record(self, func, args, kwargs, out) -> None:
        info = _op_info(func)
        if info is None:
            return
        name, arg_names, is_view, inplace = info
        tensors = _tensors(args)
        if kwargs:
            tensors += _tensors(tuple(kwargs.values()))
        outs = _tensors(out if isinstance(out, (list, tuple)) else (out,))
        self.keep.append(out)
        if not tensors:
            # factory op (torch.zeros inside forward ...): a constant, not a node
            for o in outs:
                self.origin[id(o)] = _CONST
            return
        sources = [self.source(t) for t in tensors]
        # views of parameters/constants (a Linear's weight.t()) stay parameters: no node
        if is_view and all(s.kind in ("param", "buffer", "const") for s in sources):
            for o in outs:
                self.origin[id(o)] = sources[0]
            return
        # non-tensor arguments by schema name, for the formulas
        named: dict[str, Any] = {}
        for i, a in enumerate(arg_names):
            if i < len(args):
                v = args[i]
            elif kwargs and a in kwargs:
                v = kwargs[a]
            else:
                continue
            if not isinstance(v, torch.Tensor) and not (
                isinstance(v, (list, tuple)) and any(isinstance(x, torch.Tensor) for x in v)
            ):
                named[a] = v
        node = Node(
            id=len(self.nodes),
            op=name,
            kind=_kind(self.kind_of, name),
            module=self.stack[-1] if self.stack else "",
            module_type=self.types.get(self.stack[-1] if self.stack else "", ""),
            inputs=[_meta(t) for t in tensors],
            sources=sources,
            outputs=[_meta(o) for o in outs],
            args=named,
            is_view=is_view,
            inplace=inplace,
        )
        for s, t in zip(sources, tensors):
            if s.kind in ("param", "buffer") and s.ref not in self.seen_params:
                self.seen_params.add(s.ref)
                # the parameter's own size, not the size of the view read here: an
                # expanded class token (cls.expand(B, -1, -1)) is B x larger than the parameter
                n = self.param_numel.get((s.kind, s.ref), t.numel())
                if s.kind == "param":
                    node.new_params += n
                else:
                    node.new_buffers += n
        self.nodes.append(node)
        if node.id + 1 == self.next_tick:
            self.next_tick = self.progress.tick(self.next_tick)
        for i, o in enumerate(outs):
            self.origin[id(o)] = Source("node", node.id, i)


class _Capture(TorchDispatchMode):
    """Records every op. With ``to_meta``, real tensors (the model's weights) are
    replaced by cached meta twins before the op runs, so the whole forward executes on
    meta tensors without touching (or copying) the model."""

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        # torch wraps a mode's __torch_dispatch__ in torch._disable_dynamo, whose first call imports
        # torch._dynamo (2-3 s of start-up, and sympy): we wrap it ourselves, see costlab.standins
        return False

    def __init__(self, recorder: _Recorder, to_meta: bool = False):
        super().__init__()
        self.recorder = recorder
        self.to_meta = to_meta
        self.twins: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def _meta(self, a):
        if isinstance(a, torch.Tensor) and a.device.type != "meta":
            hit = self.twins.get(id(a))
            if hit is None:
                twin = torch.empty_strided(a.shape, a.stride(), dtype=a.dtype, device="meta")
                hit = self.twins[id(a)] = (a, twin)
            return hit[1]
        if isinstance(a, (list, tuple)):
            return type(a)(self._meta(x) for x in a)
        return a

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if self.to_meta:
            margs = tuple(self._meta(a) for a in args)
            mkwargs = {k: self._meta(v) for k, v in kwargs.items()}
            if "device" in mkwargs and mkwargs["device"] is not None:
                mkwargs["device"] = torch.device("meta")
        else:
            margs, mkwargs = args, kwargs
        out = fast_meta(_op_name(func), margs, mkwargs)
        if out is None:
            out = func(*margs, **mkwargs)
        self.recorder.record(func, args, kwargs, out)
        return out


_Capture.__torch_dispatch__ = dynamo_off_if_loaded(_Capture.__torch_dispatch__)



# (getter, setter, value during the trace) of torch's global kernel switches, by name in torch._C
_UNFUSED_FLAGS = (
    ("_get_mkldnn_enabled", "_set_mkldnn_enabled", False),         # nn.LSTM -> aten.mkldnn_rnn_layer
    ("_get_cudnn_enabled", "_set_cudnn_enabled", False),           # nn.LSTM/GRU/RNN -> aten._cudnn_rnn
    ("_get_flash_sdp_enabled", "_set_sdp_use_flash", False),        # SDPA -> flash attention kernels
    ("_get_mem_efficient_sdp_enabled", "_set_sdp_use_mem_efficient", False),
    ("_get_cudnn_sdp_enabled", "_set_sdp_use_cudnn", False),
    ("_get_fa3_sdp_enabled", "_set_sdp_use_fa3", False),
    ("_get_overrideable_sdp_enabled", "_set_sdp_use_overrideable", False),
    ("_get_math_sdp_enabled", "_set_sdp_use_math", True),           # SDPA -> matmul, softmax, matmul
)


@contextlib.contextmanager
def unfused_kernels():
    """Turn torch's fused recurrent and attention kernels off for the trace, and back on after.

    On real (and fake) tensors PyTorch takes fused paths that hide their matmuls in one opaque
    op: oneDNN's ``mkldnn_rnn_layer`` for ``nn.LSTM``, cuDNN's RNN, the transformer fast path
    (``_transformer_encoder_layer_fwd``, ``_native_multi_head_attention``) and the flash /
    memory-efficient SDPA kernels. With them off, the same layers run as the plain ops that
    the registry counts (``addmm``, ``bmm``, ``sigmoid`` ...), exactly as on meta tensors.
    (A forward that forces a fused kernel itself is still counted: ``costlab.ops`` has
    formulas for these kernels too.) Every switch is restored, also when the forward raises."""
    saved = []
    try:
        for get, set_, value in _UNFUSED_FLAGS:
            getter, setter = getattr(torch._C, get, None), getattr(torch._C, set_, None)
            if getter is None or setter is None:   # not in this torch build
                continue
            old = bool(getter())
            if old != value:
                setter(value)
                saved.append((setter, old))
        mha = getattr(torch.backends, "mha", None)
        if mha is not None and hasattr(mha, "get_fastpath_enabled") and mha.get_fastpath_enabled():
            mha.set_fastpath_enabled(False)
            saved.append((mha.set_fastpath_enabled, True))
        yield
    finally:
        for setter, old in reversed(saved):
            setter(old)


def _model_device(model: nn.Module) -> torch.device:
    for t in itertools.chain(model.parameters(), model.buffers()):
        return t.device
    return torch.device("cpu")


_SHAPE_WORDS = ("shape", "size", "channel", "dimension", "reduction dim", "mat1 and mat2", "expected input",
                "input of")


def _mentions_shape(msg: str) -> bool:
    """A forward error about the input's shape (channels, sizes, matmul dims): the input given
    is the likely cause, so the message names it."""
    low = msg.lower()
    return any(w in low for w in _SHAPE_WORDS)


def _is_data_dependent(exc: BaseException) -> bool:
    from torch._subclasses import fake_tensor as ft

    kinds = tuple(
        k for k in (
            getattr(ft, "DataDependentOutputException", None),
            getattr(ft, "DynamicOutputShapeException", None),
            getattr(ft, "UnsupportedOperatorException", None),
            getattr(ft, "UnsupportedFakeTensorException", None),
        ) if k is not None
    )
    if isinstance(exc, kinds):
        return True
    msg = str(exc)
    # anything that trips over meta tensors (reading values, .tolist(), .numpy(), nonzero,
    # a module checking devices as nn.LSTM does) is retried on real tensors; a genuine error
    # of the model then shows again, from the real run
    import re

    # a custom op without a fake / Meta kernel ('There was no fake impl registered for ...',
    # '... with Meta tensors, but there was no fake impl or Meta kernel registered', 'Could not
    # run ... from the 'Meta' backend') runs fine on real tensors
    return bool(re.search(r"(?i:\bmeta\b)|storage|data pointer|data-dependent|Data dependent|FakeTensor|"
                          r"fake tensor|fake impl|GuardOnDataDependent|nonzero", msg)) or \
        type(exc).__name__ in ("GuardOnDataDependentSymNode", "DataDependentOutputException")


def trace(model: nn.Module, input_shapes: Sequence[Sequence[int]], *, mode: str = "auto",
          kind_of=None) -> Graph:
    """Run ``model`` once on inputs of ``input_shapes`` and return its :class:`Graph`.

    ``mode``: ``'auto'`` (meta tensors, falling back to real zero inputs when the forward
    reads tensor values), ``'meta'``, ``'fake'`` (``FakeTensorMode``), ``'real'``.
    The model is left exactly as it was: no hooks, no patches, same training flags.
    """
    if kind_of is None:
        from .ops import kind_of as _k

        kind_of = _k
    device = _model_device(model)
    on_meta = device.type == "meta"
    if mode == "auto":
        try:
            return _trace_once(model, input_shapes, "meta", kind_of)
        except DataDependentError as exc:
            if on_meta:
                raise
            graph = _trace_once(model, input_shapes, "real", kind_of)
            graph.retraced = f"{retrace_reason(exc)}: traced again on real zero inputs"
            return graph
    if mode not in ("fake", "real", "meta"):
        raise ValueError(f"unknown trace mode {mode!r}")
    return _trace_once(model, input_shapes, mode, kind_of)


def retrace_reason(exc: DataDependentError) -> str:
    """Why a meta trace failed, for the note that says the model was traced on real tensors."""
    cause = exc.__cause__
    first = (str(cause).strip().splitlines() or [""])[0][:120] if cause is not None else ""
    what = f"{type(cause).__name__}: {first}" if cause is not None else str(exc)
    return f"the forward reads tensor values or cannot run on meta tensors ({what})"


class _ModelState:
    """What a forward could change on the model, saved before the trace and put back after:
    training flags, the contents of every module's ``__dict__`` (attributes set in forward),
    its parameter / buffer / submodule tables (buffers registered in forward), and, for a
    trace on real tensors, the values of its buffers (in-place updates such as counters)."""

    _TABLES = ("_parameters", "_buffers", "_modules")

    def __init__(self, model: nn.Module, save_values: bool):
        self.mods = list(model.modules())
        self.dicts = [dict(m.__dict__) for m in self.mods]
        self.tables = [{t: dict(getattr(m, t)) for t in self._TABLES if isinstance(getattr(m, t, None), dict)}
                       for m in self.mods]
        self.values = ([(b, b.detach().clone()) for b in model.buffers()] if save_values else [])

    def restore(self) -> None:
        for m, saved, tables in zip(self.mods, self.dicts, self.tables):
            for key in [k for k in m.__dict__ if k not in saved]:
                del m.__dict__[key]
            for key, value in saved.items():
                if m.__dict__.get(key) is not value:
                    m.__dict__[key] = value
            for name, table in tables.items():
                live = getattr(m, name)
                # by identity: `==` on dicts compares the tensors they hold element-wise (an error)
                if list(live) != list(table) or any(live[k] is not table[k] for k in table):
                    live.clear()
                    live.update(table)
        with torch.no_grad():
            for b, v in self.values:
                if b.shape == v.shape:
                    b.copy_(v)


def _check_lazy(model: nn.Module) -> None:
    from torch.nn.parameter import is_lazy

    lazy = [n for n, p in itertools.chain(model.named_parameters(), model.named_buffers()) if is_lazy(p)]
    if lazy:
        raise TraceError(f"the model has uninitialised lazy parameters ({lazy[0]} ...): run one forward "
                         "on a real input to initialise them, then analyze it")


def _input_dtype(model: nn.Module) -> torch.dtype:
    for p in itertools.chain(model.parameters(), model.buffers()):
        if p.is_floating_point():
            return p.dtype
    return torch.float32


def _shape_dtype(shape, default: torch.dtype) -> torch.dtype:
    """The dtype of one input: its own (``spec.InputShape.dtype``: ``'int64'`` ...) or ``default``."""
    name = getattr(shape, "dtype", None)
    if name is None:
        return default
    if isinstance(name, torch.dtype):
        return name
    dt = getattr(torch, str(name), None)
    if not isinstance(dt, torch.dtype):
        raise TraceError(f"unknown input dtype '{name}'; use e.g. int64 or float32")
    return dt


def zero_inputs(model: nn.Module, input_shapes) -> list[torch.Tensor]:
    """Real zero tensors of ``input_shapes`` on the model's device, in its floating dtype (an
    input's own dtype wins: ``'1x128:int64'``): what a trace on real tensors feeds the model,
    and what another counter (fvcore, torch's FlopCounterMode) should be given to compare."""
    device, dtype = _model_device(model), _input_dtype(model)
    return [torch.zeros(tuple(s), device=device, dtype=_shape_dtype(s, dtype)) for s in input_shapes]


def call_model(model: nn.Module, inputs, input_shapes):
    """``model(...)`` on ``inputs``: an input whose shape has a ``name`` (``spec.InputShape``:
    ``decoder_input_ids``) goes in as that keyword, the others positionally, in order."""
    args, kwargs = [], {}
    for x, s in zip(inputs, input_shapes):
        name = getattr(s, "name", None)
        if name:
            kwargs[name] = x
        else:
            args.append(x)
    return model(*args, **kwargs)


def _trace_once(model: nn.Module, input_shapes, mode: str, kind_of) -> Graph:
    _check_lazy(model)
    device = _model_device(model)
    dtype = _input_dtype(model)
    dtypes = [_shape_dtype(s, dtype) for s in input_shapes]   # '1x128:int64': token ids
    rec = _Recorder(model, kind_of)
    state = _ModelState(model, save_values=(mode == "real"))
    handles = []
    fake_ctx: contextlib.AbstractContextManager = contextlib.nullcontext()
    if mode == "fake":
        from torch._subclasses.fake_tensor import FakeTensorMode

        fake_ctx = FakeTensorMode(allow_non_fake_inputs=True)
    gc_was_enabled = gc.isenabled()
    finished = False
    try:
        gc.disable()   # the trace allocates many small objects; collection cycles made it superlinear
        model.eval()
        handles.append(nn.modules.module.register_module_forward_pre_hook(rec.pre_hook))
        handles.append(nn.modules.module.register_module_forward_hook(rec.post_hook, always_call=True))
        # inference_mode(False): under inference mode composite ops (conv2d, linear) are not
        # decomposed; redirect_stdout: a print() in the forward must not corrupt our output
        with compiler_unloaded(), fake_ctx, torch.inference_mode(False), torch.no_grad(), unfused_kernels(), \
                contextlib.redirect_stdout(sys.stderr):
            if mode == "real":
                inputs = zero_inputs(model, input_shapes)
            else:
                inputs = [torch.empty(tuple(s), device=device if mode == "fake" else "meta", dtype=d)
                          for s, d in zip(input_shapes, dtypes)]
            for i, x in enumerate(inputs):
                rec.origin[id(x)] = Source("input", i)
            rec.keep.append(inputs)
            with _Capture(rec, to_meta=(mode == "meta" and device.type != "meta")):
                out = call_model(model, inputs, input_shapes)
            finished = True
    except (Exception, SystemExit) as exc:  # the model's own error, or a data-dependent forward
        if mode != "real" and isinstance(exc, Exception) and _is_data_dependent(exc):
            raise DataDependentError(
                f"the forward reads tensor values ({type(exc).__name__}); trace on real tensors"
            ) from exc
        first = (str(exc).strip().splitlines() or [""])[0]
        if "'indices'" in first and "Long" in first and any(not getattr(s, "dtype", None) for s in input_shapes):
            first += " (integer inputs such as token ids: give their dtype, e.g. --input-shape 1x128:int64)"
        if isinstance(exc, TypeError) and "positional argument" in first and len(input_shapes) > 1:
            # '1x3x8x8,1x3' is two inputs: a forward of one input says only how many it was given
            first += (f" (--input-shape gave {len(input_shapes)} inputs, separated by commas; one shape per "
                      "input of forward)")
        elif isinstance(exc, (RuntimeError, ValueError, TypeError)) and _mentions_shape(first):
            given = ",".join("x".join(str(int(d)) for d in s) for s in input_shapes)
            first += f" (traced with input {given}; check --input-shape / --resolution)"
        raise TraceError(f"the model's forward raised {type(exc).__name__}: {first}") from exc
    finally:
        if rec.progress is not None:
            rec.progress.close(len(rec.nodes), finished)
        for h in handles:
            h.remove()
        state.restore()   # training flags, attributes, buffers registered or updated in forward
        if gc_was_enabled:
            gc.enable()
    out_leaves, _ = tree_flatten(out)
    outputs = [rec.source(o) for o in out_leaves if isinstance(o, torch.Tensor)]
    params_total = sum(p.numel() for p in model.parameters())
    buffers_total = sum(b.numel() for b in model.buffers())
    used = sum(n.new_params for n in rec.nodes)
    return Graph(
        nodes=rec.nodes,
        inputs=[TensorMeta(tuple(int(d) for d in s), _dtype_name(d)) for s, d in zip(input_shapes, dtypes)],
        outputs=outputs,
        params_total=params_total,
        buffers_total=buffers_total,
        params_unused=params_total - used,
        mode=mode,
        module_types=dict(rec.types),
    )
