"""Tracer: module scopes, data-flow edges, views vs copies, control flow, model untouched."""
from __future__ import annotations

import sys

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import costlab
from costlab.tracer import TraceError, trace


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(c)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x))) + x   # functional relu and add


class Net(nn.Module):
    def __init__(self, depth=2):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.blocks = nn.Sequential(*[Block(8) for _ in range(depth)])
        self.head = nn.Linear(8, 10)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        if x.shape[-1] > 4:           # Python control flow on shapes
            x = F.max_pool2d(x, 2)
        return self.head(self.drop(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)))


def hooks_of(model):
    return [(len(m._forward_hooks), len(m._forward_pre_hooks), len(m._backward_hooks)) for m in model.modules()]


def test_module_scopes_and_functional_ops():
    rep = costlab.analyze(Net(), (1, 3, 16, 16))
    df = rep.layers
    by_name = dict(zip(df["name"], df["op"]))
    assert by_name["stem:conv"] == "conv3x3"
    assert by_name["blocks.0.conv:conv"] == "conv3x3"
    assert by_name["blocks.0.bn:batch_norm"] == "batch_norm"
    assert by_name["blocks.0:relu"] == "relu"       # F.relu seen, owned by the block
    assert by_name["blocks.1:add"] == "add"
    assert by_name["(root):pool"] == "pool"          # the shape-dependent branch ran
    assert by_name["head:linear"] == "linear"


def test_data_flow_edges():
    g = trace(Net(depth=1), [(1, 3, 8, 8)])
    conv = next(n for n in g.nodes if n.module == "blocks.0.conv")
    add = next(n for n in g.nodes if n.module == "blocks.0" and n.kind == "add")
    stem = next(n for n in g.nodes if n.module == "stem")
    relu = next(n for n in g.nodes if n.module == "blocks.0" and n.kind == "relu")
    assert conv.producers == [stem.id]
    # residual add reads the relu output and the block input (the stem's output)
    assert sorted(add.producers) == sorted([relu.id, stem.id])
    assert g.nodes[0].sources[0].kind == "input"
    assert [s.kind for s in conv.sources[1:]] == ["param"]
    consumers = g.consumers()
    assert add.id in consumers[stem.id]


def test_model_left_exactly_as_it_was():
    m = Net()
    m.train()
    before = {k: v.clone() for k, v in m.state_dict().items()}
    hooks = hooks_of(m)
    costlab.analyze(m, (2, 3, 8, 8))
    assert m.training and all(mod.training for mod in m.modules())
    assert hooks_of(m) == hooks
    for k, v in m.state_dict().items():
        assert torch.equal(v, before[k]), k   # BN running stats untouched
    assert not nn.modules.module._global_forward_hooks
    assert not nn.modules.module._global_forward_pre_hooks


class Raises(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        x = self.conv(x)
        raise RuntimeError("boom\nsecond line")


def test_forward_raising_leaves_no_hooks_and_one_line_error():
    m = Raises()
    m.train()
    with pytest.raises(TraceError) as ei:
        costlab.analyze(m, (1, 3, 8, 8))
    assert "boom" in str(ei.value) and "\n" not in str(ei.value)
    assert m.training
    assert not nn.modules.module._global_forward_hooks
    assert not nn.modules.module._global_forward_pre_hooks
    assert hooks_of(m) == [(0, 0, 0)] * len(list(m.modules()))
    # F.relu is not patched
    assert F.relu.__module__ == "torch.nn.functional"


class ValueDependent(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 4, 1)
        self.b = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        if x.sum() > 1.0:      # reads tensor values: cannot run on fake tensors
            return self.a(x)
        return self.b(x)


def test_value_dependent_control_flow_falls_back_to_real_tensors():
    rep = costlab.analyze(ValueDependent(), (1, 3, 8, 8))
    assert rep.graph.mode == "real"
    names = list(rep.layers["name"])
    assert "b:conv" in names and "a:conv" not in names     # zeros input: sum 0, branch b
    assert "(root):sum" in names and "(root):gt" in names    # the test itself is traced too
    assert rep.unsupported == []
    assert "real" in rep.conventions["trace"]


def test_fake_tensors_used_for_real_models_and_meta_for_zoo():
    rep = costlab.analyze(Net(), (1, 3, 8, 8))
    assert rep.graph.mode == "meta"          # real weights, meta twins: nothing copied
    rep = costlab.analyze("mobilenet_v2", resolution=96)
    assert rep.graph.mode == "meta"


def test_shared_module_and_param_counted_once():
    class Shared(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(4, 4, 3, padding=1)

        def forward(self, x):
            return self.conv(self.conv(x))

    rep = costlab.analyze(Shared(), (1, 4, 6, 6))
    assert rep.totals["params"] == 4 * 4 * 9 + 4
    assert list(rep.layers["name"]) == ["conv:conv", "conv:conv#2"]
    assert rep.totals["macs"] == 2 * 36 * 4 * 4 * 9


def test_unused_params_reported():
    class Aux(nn.Module):
        def __init__(self):
            super().__init__()
            self.main = nn.Linear(4, 4)
            self.aux = nn.Linear(4, 100)

        def forward(self, x):
            return self.main(x)

    rep = costlab.analyze(Aux(), (1, 4))
    assert rep.totals["params"] == 20 and rep.totals["params_unused"] == 500


def test_multiple_inputs():
    class Two(nn.Module):
        def forward(self, a, b):
            return a @ b

    rep = costlab.analyze(Two(), [(3, 4), (4, 5)])
    assert rep.totals["macs"] == 60 and rep.input_shape == [[3, 4], [4, 5]]


def test_inference_mode_outside_and_inside_forward():
    m = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(64, 10)).eval()
    plain = costlab.analyze(m, (1, 3, 4, 4)).totals
    with torch.inference_mode():
        inside = costlab.analyze(m, (1, 3, 4, 4))
    assert inside.totals["macs"] == plain["macs"] == 4 * 16 * 3 + 64 * 10
    assert inside.unsupported == []

    class IM(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(8, 8)

        def forward(self, x):
            with torch.inference_mode():
                return self.lin(x)

    rep = costlab.analyze(IM(), (2, 8))
    assert rep.totals["macs"] == 2 * 64 and rep.unsupported == []


def test_lazy_modules_one_line_error():
    with pytest.raises(TraceError, match="lazy"):
        costlab.analyze(nn.Sequential(nn.LazyLinear(4)), (1, 3))


def test_state_set_in_forward_is_undone():
    class Late(nn.Module):
        def __init__(self):
            super().__init__()
            self.c = nn.Conv2d(3, 4, 1)
            self.register_buffer("count", torch.zeros(1))

        def forward(self, x):
            y = self.c(x)
            self.register_buffer("late", torch.ones(1, device=x.device))
            self.last = y
            self.count += 1
            return y

    m = Late()
    costlab.analyze(m, (1, 3, 4, 4))
    assert set(dict(m.named_buffers())) == {"count"} and not hasattr(m, "last")
    assert m.count.item() == 0.0
    m(torch.zeros(1, 3, 4, 4))     # still a working CPU model


def test_real_retrace_does_not_keep_in_place_updates():
    class Counter(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("n", torch.zeros(1))

        def forward(self, x):
            self.n += 1
            return x * 2 if x.sum() > 0 else x - 1     # value-dependent: real retrace

    m = Counter()
    rep = costlab.analyze(m, (1, 4))
    assert rep.graph.mode == "real" and m.n.item() == 0.0


def test_print_in_forward_goes_to_stderr(capsys):
    class Chatty(nn.Module):
        def forward(self, x):
            print("hello from forward")
            return x + 1

    costlab.analyze(Chatty(), (1, 4))
    out, err = capsys.readouterr()
    assert "hello" not in out and "hello from forward" in err


def test_half_model_and_tolist_fallback():
    rep = costlab.analyze(nn.Conv2d(3, 4, 1).half(), (1, 3, 4, 4))
    assert rep.totals["macs"] == 4 * 16 * 3 and rep.input_shape == [[1, 3, 4, 4]]
    assert rep.graph.inputs[0].dtype == "float16"

    class ToList(nn.Module):
        def __init__(self):
            super().__init__()
            self.c = nn.Conv2d(3, 4, 1)

        def forward(self, x):
            n = len(x.flatten().tolist())
            return self.c(x) * n

    rep = costlab.analyze(ToList(), (1, 3, 4, 4))
    assert rep.graph.mode == "real" and rep.totals["macs"] == 4 * 16 * 3


class _ManyOps(nn.Module):
    def __init__(self, n: int, fail: bool = False):
        super().__init__()
        self.n, self.fail = n, fail

    def forward(self, x):
        for _ in range(self.n):
            x = torch.relu(x) + 1
        if self.fail:
            raise ValueError("boom")
        return x


def test_huge_model_shows_tracing_progress_on_a_terminal_only(monkeypatch, capsys):
    """Issue 22 item 9: tens of thousands of ops printed nothing for minutes; on a terminal the
    tracer now counts traced ops and says when it is done; elsewhere it prints nothing."""
    import costlab.progress as P
    import costlab.tracer as T

    monkeypatch.setattr(P, "PROGRESS_FROM", 300)        # the mechanism, on a model that traces fast
    monkeypatch.setattr(P, "PROGRESS_EVERY", 100)
    g = T.trace(_ManyOps(500), [(1, 4)])
    assert len(g.nodes) == 1000 and capsys.readouterr().err == ""          # not a terminal: silent
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    T.trace(_ManyOps(100), [(1, 4)])
    assert capsys.readouterr().err == ""                                   # a small model: silent
    T.trace(_ManyOps(500), [(1, 4)])
    err = capsys.readouterr().err
    assert "costlab: tracing: " in err and " op" in err
    assert err.endswith("costlab: traced 1,000 ops in " + err.rsplit(" ops in ", 1)[1])
    assert err.rstrip("\n").endswith(" s; now counting and predicting their costs")
    with pytest.raises(T.TraceError):
        T.trace(_ManyOps(500, fail=True), [(1, 4)])
    assert "costlab: traced" not in capsys.readouterr().err               # a failed trace says no 'done'
