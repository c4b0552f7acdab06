"""Issue 13: real users' models and machines (each test failed before its fix)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import costlab
from costlab.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code, out, err, needle=""):
    assert code == 2, err
    assert out == ""
    assert err.startswith("costlab: error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert needle in err, err


# -- 1. profile files ---------------------------------------------------------------------------

def test_profile_not_utf8_is_one_line(capsys, tmp_path):
    p = tmp_path / "p.json"
    p.write_bytes(b"\xff")
    one_line_error(*run(["analyze", "lenet5", "--device", str(p)], capsys), needle="UTF-8")


def _empty_profile(tmp_path):
    with open(os.path.join(ROOT, "profiles", "arm-sd810.json"), encoding="utf-8") as f:
        d = json.load(f)
    for k in ("predictor", "baseline", "validation"):
        d.pop(k, None)
    d["samples"] = []
    p = tmp_path / "empty.json"
    p.write_text(json.dumps(d))
    return p


def test_calibrate_profile_without_samples_is_one_line(capsys, tmp_path):
    p = _empty_profile(tmp_path)
    one_line_error(*run(["calibrate", str(p), "-q"], capsys), needle="samples")
    one_line_error(*run(["validate", "--device", str(p), "-q"], capsys), needle="no samples")


# -- 2. a parameter read through .expand ----------------------------------------------------------

class ClassToken(nn.Module):
    def __init__(self, d=16, n=4):
        super().__init__()
        self.cls = nn.Parameter(torch.zeros(1, 1, d))
        self.pos = nn.Parameter(torch.zeros(1, n + 1, d))
        self.head = nn.Linear(d, d)

    def forward(self, x):
        b = x.shape[0]
        x = torch.cat([self.cls.expand(b, -1, -1), x], 1) + self.pos
        return self.head(x)


@pytest.mark.parametrize("batch", [1, 8])
def test_expanded_parameter_counted_once(batch):
    m = ClassToken()
    t = costlab.analyze(m, input_shape=(batch, 4, 16)).totals
    assert t["params"] == sum(p.numel() for p in m.parameters())
    assert t["params_unused"] == 0


# -- 3. recurrent layers on CPU ---------------------------------------------------------------------

GATES = {nn.LSTM: 4, nn.GRU: 3, nn.RNN: 1}


def _textbook_rnn_macs(cls, inp, hidden, layers, steps, batch, directions=1):
    """Per step, per direction: gates x hidden x (input + hidden) multiply-accumulates."""
    macs, size = 0, inp
    for _ in range(layers):
        macs += directions * steps * batch * GATES[cls] * hidden * (size + hidden)
        size = hidden * directions
    return macs


class CellLoop(nn.Module):
    """The unfused reference: an explicit nn.LSTMCell loop."""

    def __init__(self, inp, hidden):
        super().__init__()
        self.cell = nn.LSTMCell(inp, hidden)

    def forward(self, x):
        h = c = torch.zeros(x.shape[0], self.cell.hidden_size)
        for t in range(x.shape[1]):
            h, c = self.cell(x[:, t], (h, c))
        return h


@pytest.mark.parametrize("cls", [nn.LSTM, nn.GRU, nn.RNN])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_rnn_macs_equal_textbook(cls, bidirectional):
    m = cls(8, 16, num_layers=2, batch_first=True, bidirectional=bidirectional)
    r = costlab.analyze(m, input_shape=(2, 5, 8))
    assert r.unsupported == []
    assert r.totals["macs"] == _textbook_rnn_macs(cls, 8, 16, 2, 5, 2, 2 if bidirectional else 1)
    assert r.totals["params"] == sum(p.numel() for p in m.parameters())


def test_lstm_macs_equal_explicit_cell_loop():
    lstm = costlab.analyze(nn.LSTM(8, 16, batch_first=True), input_shape=(3, 7, 8)).totals["macs"]
    loop = costlab.analyze(CellLoop(8, 16), input_shape=(3, 7, 8)).totals["macs"]
    assert lstm == loop == _textbook_rnn_macs(nn.LSTM, 8, 16, 1, 7, 3)


def test_trace_restores_kernel_switches():
    from costlab.tracer import unfused_kernels

    before = (torch._C._get_mkldnn_enabled(), torch.backends.mha.get_fastpath_enabled(),
              torch._C._get_flash_sdp_enabled())
    with pytest.raises(RuntimeError):
        with unfused_kernels():
            assert not torch._C._get_mkldnn_enabled() and not torch.backends.mha.get_fastpath_enabled()
            raise RuntimeError("boom")
    assert (torch._C._get_mkldnn_enabled(), torch.backends.mha.get_fastpath_enabled(),
            torch._C._get_flash_sdp_enabled()) == before


# -- 4. fused attention / transformer kernels ----------------------------------------------------------

class ReadsValues(nn.Module):
    """Reads a tensor value, so costlab retraces it on real zeros (where torch takes fast paths)."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, *xs):
        if xs[0].sum() > 1:
            xs = tuple(x + 1 for x in xs)
        return self.inner(*xs)


class SDPA(nn.Module):
    def forward(self, q, k, v):
        return F.scaled_dot_product_attention(q, k, v)


class SelfAttention(nn.Module):
    def __init__(self, d=32, heads=4):
        super().__init__()
        self.mha = nn.MultiheadAttention(d, heads, batch_first=True)

    def forward(self, x):
        return self.mha(x, x, x)[0]


def _encoder_reference_macs(batch, seq, d, ffn):
    tokens = batch * seq
    return tokens * (3 * d * d + d * d + 2 * d * ffn) + 2 * batch * seq * seq * d   # + QK^T and AV


@pytest.mark.parametrize("make, shapes, reference", [
    (lambda: nn.TransformerEncoderLayer(32, 4, 64, batch_first=True), [(2, 10, 32)],
     _encoder_reference_macs(2, 10, 32, 64)),
    (lambda: nn.TransformerEncoderLayer(32, 4, 64, batch_first=True, activation="gelu", norm_first=True),
     [(2, 10, 32)], _encoder_reference_macs(2, 10, 32, 64)),
    (lambda: SelfAttention(), [(2, 10, 32)], 2 * 10 * 4 * 32 * 32 + 2 * 2 * 10 * 10 * 32),
    (lambda: SDPA(), [(2, 4, 10, 8), (2, 4, 12, 8), (2, 4, 12, 8)], 2 * 4 * 10 * 12 * (8 + 8)),
])
def test_fused_attention_macs_equal_unfused_reference(make, shapes, reference):
    m = make()
    meta = costlab.analyze(m, input_shape=shapes)                         # meta tensors: plain ops
    real = costlab.analyze(ReadsValues(m), input_shape=shapes)            # real zeros
    assert real.graph.mode == "real"
    assert real.unsupported == [] and meta.unsupported == []
    assert meta.totals["macs"] == real.totals["macs"] == reference


@pytest.mark.parametrize("make, shapes", [
    (lambda: nn.TransformerEncoderLayer(32, 4, 64, batch_first=True), [(2, 10, 32)]),
    (lambda: SelfAttention(), [(2, 10, 32)]),
    (lambda: SDPA(), [(2, 4, 10, 8)] * 3),
    (lambda: nn.LSTM(8, 16, num_layers=2, batch_first=True), [(2, 5, 8)]),
    (lambda: nn.LSTM(8, 16, bidirectional=True), [(5, 2, 8)]),
])
def test_fused_kernel_formulas_equal_unfused(make, shapes, monkeypatch):
    """A forward that forces a fused kernel is counted by its formula, with the unfused MACs."""
    import contextlib

    import costlab.tracer as tracer

    m = make()
    unfused = costlab.analyze(m, input_shape=shapes, trace_mode="real")
    monkeypatch.setattr(tracer, "unfused_kernels", contextlib.nullcontext)
    fused = costlab.analyze(m, input_shape=shapes, trace_mode="real")
    assert any(n.kind in ("rnn", "attention") for n in fused.graph.nodes)   # the fused kernel ran
    assert fused.unsupported == []
    assert fused.totals["macs"] == unfused.totals["macs"]


# -- 5. custom ops without a fake / Meta kernel ------------------------------------------------------

def test_custom_op_without_fake_kernel_falls_back_to_real(capsys, tmp_path):
    f = tmp_path / "customnet.py"
    f.write_text(
        "import torch, torch.nn as nn\n"
        "@torch.library.custom_op('costlab_t13::double', mutates_args=())\n"
        "def double(x: torch.Tensor) -> torch.Tensor:\n"
        "    return x * 2\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc = nn.Linear(4, 4)\n"
        "    def forward(self, x):\n"
        "        return double(self.fc(x))\n"
        "def build():\n"
        "    return Net()\n")
    code, out, err = run(["analyze", f"{f}:build", "--input-shape", "2x4", "--format", "json"], capsys)
    assert code == 0, err
    d = json.loads(out)
    assert d["totals"]["macs"] == 2 * 4 * 4
    assert {u["op"] for u in d["unsupported"]} == {"costlab_t13.double.default"}   # listed, not hidden


def test_op_with_only_a_cpu_kernel_falls_back_to_real():
    lib = torch.library.Library("costlab_t13b", "DEF")
    lib.define("triple(Tensor x) -> Tensor")
    lib.impl("triple", lambda x: x * 3, "CPU")

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            return torch.ops.costlab_t13b.triple(self.fc(x))

    r = costlab.analyze(Net(), input_shape=(2, 4))
    assert r.graph.mode == "real" and r.totals["macs"] == 32
    assert [u["op"] for u in r.unsupported] == ["costlab_t13b.triple.default"]


# -- 6. smaller items ----------------------------------------------------------------------------------

@pytest.mark.parametrize("conv, shape", [(nn.Conv1d, (1, 4, 9)), (nn.Conv2d, (1, 4, 9, 9)), (nn.Conv3d, (1, 4, 5, 5, 5))])
@pytest.mark.parametrize("padding_mode", ["circular", "reflect", "replicate"])
def test_padding_modes_are_supported(conv, shape, padding_mode):
    m = conv(4, 4, 3, padding=1, padding_mode=padding_mode)
    r = costlab.analyze(m, input_shape=shape)
    assert r.unsupported == []
    plain = costlab.analyze(conv(4, 4, 3, padding=1), input_shape=shape)
    assert r.totals["macs"] == plain.totals["macs"]
    assert r.totals["mac_bytes"] > plain.totals["mac_bytes"]       # the padded copy moves data


class RealWorldOps(nn.Module):
    """Ops that real models use (ESPCN/SR, detection heads, NLP, audio, attention pooling)."""

    def __init__(self):
        super().__init__()
        self.bil = nn.Bilinear(2, 2, 5)
        self.w = nn.Parameter(torch.zeros(16))

    def forward(self, x):
        y = x.repeat(1, 2, 1, 1)
        y = F.pixel_shuffle(y, 2)
        mx = y.max(dim=1).values + y.amax() + torch.max(y, 1, keepdim=True)[0].mean()
        both = torch.max(y, y * 2)                              # max.other: element-wise
        v = torch.mv(y.flatten(1)[:, :16], self.w)
        e = torch.einsum("bchw,bdhw->bcd", y, y)
        f = torch.fft.rfft2(y).abs() + torch.fft.fft(y).real.mean()
        s = torch.sort(y, dim=1).values + torch.topk(y, 2, dim=1).values.mean()
        p = y.mean((2, 3))
        b = self.bil(p, p)
        return mx, both, v, e, f, s, b, y.argmax(1), y.cumsum(1), torch.logsumexp(y, 1), y.norm(dim=1)


def test_real_world_ops_have_formulas():
    r = costlab.analyze(RealWorldOps(), input_shape=(2, 4, 8, 8))
    assert r.unsupported == []
    ops_seen = {n.op for n in r.graph.nodes}
    for op in ("aten.repeat.default", "aten.pixel_shuffle.default", "aten.max.dim", "aten.mv.default",
               "aten._trilinear.default", "aten._fft_r2c.default", "aten.sort.default", "aten.topk.default"):
        assert op in ops_seen, op
    rows = r.layers.set_index("node")
    by_op = {n.op: rows.loc[n.id] for n in r.graph.nodes if n.id in rows.index}
    assert by_op["aten.mv.default"]["macs"] == 2 * 16
    # y: 2x2x16x16 after the pixel shuffle
    assert by_op["aten._trilinear.default"]["macs"] == 2 * 5 * 2 * 2 + 2 * 5 * 2     # x1 W, then (.) x2
    assert by_op["aten.bmm.default"]["macs"] == 2 * 2 * 256 * 2                        # the einsum
    assert by_op["aten.max.dim"]["elem_ops"] == 2 * 2 * 16 * 16                       # one per input element
    assert by_op["aten.pixel_shuffle.default"]["mac_bytes"] > 0
    assert by_op["aten._fft_r2c.default"]["elem_ops"] > 0 and by_op["aten.sort.default"]["elem_ops"] > 0
    from costlab import ops

    assert ops.category_of("aten.max.other") == "binary" and ops.category_of("aten.max.dim") == "reduce"


def test_progress_bars_only_on_a_terminal(capsys, tmp_path):
    from costlab.compare import compare

    compare(["lenet5", "lenet_300_100", "lenet5+lenet5"], progress=True)      # stderr is not a terminal here
    assert capsys.readouterr().err == ""


def test_module_factory_without_py(capsys, tmp_path, monkeypatch):
    (tmp_path / "mynet_t13.py").write_text("import torch.nn as nn\ndef build():\n    return nn.Linear(4, 2)\n")
    monkeypatch.chdir(tmp_path)
    code, out, err = run(["analyze", "mynet_t13:build", "--input-shape", "1x4", "--format", "json"], capsys)
    assert code == 0, err
    assert json.loads(out)["totals"]["macs"] == 8
    code, out, err = run(["analyze", "nosuchmod_t13:build"], capsys)
    one_line_error(code, out, err, needle="no file 'nosuchmod_t13.py' here, and no importable module")


class TokenModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(100, 8)
        self.fc = nn.Linear(8, 3)

    def forward(self, ids, x):
        return self.fc(self.emb(ids) + x)


def test_integer_token_inputs(capsys, tmp_path):
    from costlab.errors import InputError
    from costlab.spec import parse_input_shape

    a, b = parse_input_shape("1x16:int64,1x16x8")
    assert tuple(a) == (1, 16) and a.dtype == "int64" and b.dtype is None
    # one-dimensional inputs need their dtype, so '1,3,8,8' (a shape joined by commas) is refused
    assert [tuple(s) for s in parse_input_shape("8:float32,8:float32")] == [(8,), (8,)]
    with pytest.raises(InputError, match="for one input write 1x3x8x8"):
        parse_input_shape("1,3,8,8")
    r = costlab.analyze(TokenModel(), input_shape="1x16:int64,1x16x8")
    assert [t.dtype for t in r.graph.inputs] == ["int64", "float32"]
    assert r.unsupported == [] and r.totals["macs"] == 16 * 8 * 3
    emb = next(n for n in r.graph.nodes if n.op.startswith("aten.embedding"))
    assert emb.inputs[1].dtype == "int64"
    f = tmp_path / "tok.py"
    f.write_text("import torch.nn as nn\ndef build():\n    return nn.Embedding(10, 4)\n")
    code, out, err = run(["analyze", f"{f}:build", "--input-shape", "2x5:long", "--format", "json"], capsys)
    assert code == 0, err
    code, out, err = run(["analyze", f"{f}:build", "--input-shape", "2x5"], capsys)
    one_line_error(code, out, err, needle="1x128:int64")
    one_line_error(*run(["analyze", f"{f}:build", "--input-shape", "2x5:int65"], capsys), needle="int64")


def test_garbage_weights_file_gets_our_message(capsys, tmp_path):
    w = tmp_path / "w.pt"
    w.write_bytes(b"garbage")
    code, out, err = run(["compress", "lenet5", "--weights", str(w), "--bits", "4"], capsys)
    one_line_error(code, out, err, needle="not a file written by torch.save")
    assert "weights_only" not in err and "will likely succeed" not in err


@pytest.mark.parametrize("args", [
    ["analyze", "lenet5", "--device", "{d}"],
    ["analyze", "{d}/x.py:build"],
    ["compress", "lenet5", "--weights", "{d}", "--bits", "4"],
])
def test_folder_is_not_said_not_to_exist(args, capsys, tmp_path):
    d = tmp_path / "afolder.py"
    d.mkdir()
    args = [a.replace("{d}", str(d)) for a in args]
    if args[1].endswith(":build"):
        args[1] = f"{d}:build"
    code, out, err = run(args, capsys)
    one_line_error(code, out, err, needle="is a folder")


def test_output_under_a_file_is_not_a_missing_folder(capsys, tmp_path):
    f = tmp_path / "plain"
    f.write_text("x")
    code, out, err = run(["analyze", "lenet5", "-o", str(f / "out.json")], capsys)
    one_line_error(code, out, err, needle="is a file, not a folder")


def test_shared_module_attribution_is_documented():
    """A module shared by two parents is attributed to its first path (fvcore's 'owner')."""
    shared = nn.Linear(4, 4)
    parent = nn.Sequential(nn.Sequential(shared), nn.Sequential(shared))
    r = costlab.analyze(parent, input_shape=(1, 4))
    assert set(r.layers["module"]) == {"0.0"}
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        assert "owner" in f.read().split("## What is counted", 1)[1].split("\n## ", 1)[0]


# -- 7. packaging metadata ---------------------------------------------------------------------------

def test_pyproject_dependencies():
    import tomllib

    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        proj = tomllib.load(f)["project"]
    deps = proj["dependencies"]
    torch_dep = next(d for d in deps if d.startswith("torch"))
    assert "<" not in torch_dep and ">=2.1" in torch_dep
    assert not any(d.startswith("fvcore") for d in deps)
    extras = proj["optional-dependencies"]
    assert any(d.startswith("fvcore") for d in extras["dev"])
    assert extras["vision"] == ["torchvision"] and extras["hf"] == ["transformers"]
    # nothing at run time imports fvcore (only the tests and the optional crosscheck, lazily)
    pkg = os.path.join(ROOT, "costlab")
    for folder, _, files in os.walk(pkg):
        for name in files:
            if name.endswith(".py"):
                with open(os.path.join(folder, name), encoding="utf-8") as f:
                    for line in f:
                        if line.startswith(("import fvcore", "from fvcore")):
                            pytest.fail(f"{name} imports fvcore at module level")


# -- 8. profiles: shipped with the package, user profiles beside them ------------------------------------

def test_user_profile_found_by_name_and_shadows_shipped(tmp_path, monkeypatch):
    from costlab.latency.profile import available_profiles, load_document, resolve_profile_path, user_profiles_dir

    monkeypatch.setenv("COSTLAB_PROFILES", str(tmp_path))
    assert user_profiles_dir() == tmp_path
    with open(os.path.join(ROOT, "profiles", "arm-sd810-ncnn.json"), encoding="utf-8") as f:
        d = json.load(f)
    d["name"] = "my-board"
    (tmp_path / "my-board.json").write_text(json.dumps(d))
    assert "my-board" in available_profiles() and "arm-sd810" in available_profiles()
    assert load_document("my-board")["name"] == "my-board"
    d["name"] = "arm-sd810"
    (tmp_path / "arm-sd810.json").write_text(json.dumps(d))
    assert resolve_profile_path("arm") == tmp_path / "arm-sd810.json"


def test_calibrate_never_overwrites_a_shipped_profile(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("COSTLAB_PROFILES", str(tmp_path / "user"))
    shipped = os.path.join(ROOT, "profiles", "arm-sd810-ncnn.json")
    before = open(shipped, "rb").read()
    code, out, err = run(["calibrate", "arm-sd810-ncnn", "-q"], capsys)
    assert code == 0, err
    assert open(shipped, "rb").read() == before
    assert (tmp_path / "user" / "arm-sd810-ncnn.json").is_file() and "found by name" in err
    import costlab as pkg

    inside = os.path.join(os.path.dirname(pkg.__file__), "x.json")
    one_line_error(*run(["profile", "--target", "cpu", "-o", inside], capsys), needle="never overwritten")
    one_line_error(*run(["calibrate", "arm-sd810-ncnn", "-o", inside, "-q"], capsys), needle="never overwritten")
    assert not os.path.exists(inside)


def test_cpu_profile_from_another_machine_warns_once(capsys, monkeypatch):
    from costlab.latency import machine

    rec = dict(costlab.latency.profile.load_profile("cpu").machine)
    monkeypatch.setattr(machine, "_WARNED", set())
    monkeypatch.setattr(machine, "this_machine", lambda: {**rec, "logical_cpus": 64})
    for _ in range(2):
        code, out, err = run(["analyze", "lenet5", "--device", "cpu"], capsys)
        assert code == 0
        if _ == 0:
            warn = [ln for ln in err.splitlines() if "another machine" in ln]
            assert len(warn) == 1 and "logical CPUs" in warn[0] and "costlab profile --target cpu -o" in warn[0]
        else:
            assert "another machine" not in err                     # once per process
    monkeypatch.setattr(machine, "_WARNED", set())
    monkeypatch.setattr(machine, "this_machine", lambda: dict(rec))
    code, out, err = run(["analyze", "lenet5", "--device", "cpu"], capsys)
    assert code == 0 and "another machine" not in err
    code, out, err = run(["analyze", "lenet5", "--device", "arm"], capsys)    # not a CPU profile
    assert code == 0 and "another machine" not in err


def test_validate_measure_warns_when_the_profile_is_from_another_machine(capsys, monkeypatch):
    from costlab.latency import machine

    rec = dict(costlab.latency.profile.load_profile("cpu").machine)
    monkeypatch.setattr(machine, "_WARNED", set())
    monkeypatch.setattr(machine, "this_machine", lambda: {**rec, "logical_cpus": 64})
    code, out, err = run(["validate", "--device", "cpu", "--measure", "--models", "lenet5,squeezenet1_1",
                          "--repeats", "3", "-q"], capsys)
    assert code == 0 and sum("another machine" in ln for ln in err.splitlines()) == 1


def test_wheel_install_finds_shipped_profiles(tmp_path):
    """Build a wheel from a copy of the sources, install it (no deps: torch etc. come from this
    environment through a .pth file) in a fresh venv, and run from another folder (~15 s)."""
    import shutil
    import sysconfig

    src = tmp_path / "src"
    src.mkdir()
    for name in ("costlab", "profiles"):
        shutil.copytree(os.path.join(ROOT, name), src / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md"):
        shutil.copy(os.path.join(ROOT, name), src / name)
    wheels = tmp_path / "wh"
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation",
                    "--no-index", "-q", "-w", str(wheels)], check=True, cwd=tmp_path, timeout=120)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    vpy = venv / "bin" / "python"
    site = subprocess.run([str(vpy), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    # this environment's packages (torch, pandas ...) without its editable costlab
    (Path(site) / "zz_reuse.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    wheel = next(wheels.glob("costlab-*.whl"))
    subprocess.run([str(vpy), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)],
                   check=True, timeout=120)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("COSTLAB_PROFILES_DIR", "PYTHONPATH")}
    env["COSTLAB_PROFILES"] = str(tmp_path / "user")
    r = subprocess.run([str(venv / "bin" / "costlab"), "analyze", "mobilenet_v2", "--device", "arm",
                        "--format", "json"], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["totals"]["latency_ms"] > 0
    loc = subprocess.run([str(vpy), "-c", "import costlab.latency.profile as p; print(p.profiles_dir())"],
                         cwd=elsewhere, env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert loc.startswith(site) and loc.endswith(os.path.join("costlab", "profiles"))


# -- 9. costlab crosscheck ---------------------------------------------------------------------------------

CROSSCHECK_SAMPLE = [("lenet5", None), ("mobilenet_v2", 32), ("shufflenet_v2", 32), ("squeezenet1_0", 64),
                     ("googlenet", 32), ("resnet18", 32), ("nb201", None), ("micro_lrn", 16), ("inception_v3", 75)]


@pytest.mark.parametrize("spec, res", CROSSCHECK_SAMPLE)
def test_crosscheck_zoo_sample_all_explained(spec, res):
    """A sample of the zoo (every model passed when run over the whole zoo at <= 64 px in ~45 s;
    set COSTLAB_CROSSCHECK_ALL=1 for that run)."""
    from costlab.crosscheck import crosscheck

    r = crosscheck(spec, resolution=res)
    assert r.fvcore_status == "ok"
    assert r.unexplained == [], [(x.op_type, x.reasons) for x in r.unexplained]
    assert r.totals.torch == 2 * r.totals.costlab_macs
    for row in r.rows:
        if row.op_type in ("conv", "matmul"):
            assert row.fvcore == row.costlab_macs


@pytest.mark.skipif(not os.environ.get("COSTLAB_CROSSCHECK_ALL"), reason="whole zoo: ~45 s; COSTLAB_CROSSCHECK_ALL=1")
def test_crosscheck_whole_zoo():
    from costlab.crosscheck import crosscheck
    from costlab.zoo import list_models

    for e in list_models():
        r = crosscheck(e.name, resolution=e.resolution if e.resolution <= 64 else (75 if "inception" in e.name else 64))
        assert r.unexplained == [], e.name


class Mixed(nn.Module):
    """Norms with and without affine, both upsamplings, attention, an LSTM, global means."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8, affine=False)
        self.gn = nn.GroupNorm(2, 8)
        self.up = nn.Upsample(scale_factor=2, mode="bilinear")
        self.up2 = nn.Upsample(scale_factor=2, mode="nearest")
        self.ln = nn.LayerNorm(8)
        self.lstm = nn.LSTM(8, 8, batch_first=True)
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        y = self.up2(self.up(self.gn(self.bn(self.conv(x)))))
        t = self.ln(y.flatten(2).transpose(1, 2)[:, :16])
        a = F.scaled_dot_product_attention(t[:, None], t[:, None], t[:, None])[:, 0]
        h, _ = self.lstm(a)
        return self.fc(h.mean(1)) + F.adaptive_avg_pool2d(y, 1).flatten(1)[:, :4]


def test_crosscheck_explains_every_convention():
    from costlab.crosscheck import crosscheck

    r = crosscheck(Mixed(), (1, 3, 8, 8))
    assert r.unexplained == [], [(x.op_type, x.reasons) for x in r.unexplained]
    rows = {x.op_type: x for x in r.rows}
    assert rows["upsample"].fvcore == 8 * 16 * 16 * 4 + 8 * 32 * 32           # bilinear 4, nearest 1 per output
    assert rows["batch_norm"].fvcore == 8 * 8 * 8                              # no affine: 1 per element
    assert rows["norm"].fvcore == 8 * 8 * 8 * 5 + 16 * 8 * 5                    # group + layer norm, affine: 5
    assert any("skipped unsupported" in why and "lstm" in why for why in rows["matmul"].reasons)
    assert rows["matmul"].torch == 2 * rows["matmul"].costlab_macs            # attention and LSTM unfused


def test_crosscheck_cli_exit_codes(capsys, tmp_path, monkeypatch):
    import costlab.crosscheck as cc

    code, out, err = run(["crosscheck", "lenet5", "--format", "json"], capsys)
    assert code == 0, err
    d = json.loads(out)[0]
    assert d["unexplained"] == [] and d["totals"]["torch"] == 2 * d["totals"]["costlab_macs"]
    real = cc._run_torch
    monkeypatch.setattr(cc, "_run_torch", lambda m, x: {k: v + 1 for k, v in real(m, x).items()})
    code, out, err = run(["crosscheck", "lenet5"], capsys)
    assert code == 1 and "without a known cause" in out
    monkeypatch.setattr(cc, "_run_torch", real)
    monkeypatch.setattr(cc, "fvcore_available", lambda: False)
    code, out, err = run(["crosscheck", "lenet5"], capsys)
    assert code == 0
    assert err.count("\n") == 1 and "costlab[dev]" in err and "fvcore not installed" in out


def test_crosscheck_keeps_fvcore_failures_whole_on_one_line():
    """torch.jit's message breaks a line inside a parenthesis: only its first line was kept,
    'fvcore failed: RuntimeError: output 1 (0.52'."""
    import torch.nn as nn

    from costlab.crosscheck import crosscheck

    class Scalar(nn.Module):
        def __init__(self):
            super().__init__()
            self.l = nn.Linear(4, 4)

        def forward(self, x):
            return self.l(x).sum().item()

    r = crosscheck(Scalar(), (1, 4))
    assert r.fvcore_status.startswith("failed:") and "\n" not in r.fvcore_status
    assert "did not have observable data dependence" in r.fvcore_status


# -- 10. torchvision: / timm: / hf: specs ------------------------------------------------------------------

@pytest.mark.parametrize("spec, extra", [("torchvision:resnet18", "vision"), ("timm:resnet18", "timm"),
                                         ("hf:bert:num_hidden_layers=2", "hf")])
def test_library_spec_without_its_package(spec, extra, capsys, monkeypatch):
    import builtins

    package = {"vision": "torchvision", "timm": "timm", "hf": "transformers"}[extra]
    for name in list(sys.modules):
        if name == package or name.startswith(package + "."):
            monkeypatch.delitem(sys.modules, name)
    real_import = builtins.__import__

    def no_package(name, *args, **kwargs):
        if name == package or name.startswith(package + "."):
            raise ImportError(f"No module named '{name}'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_package)
    import importlib

    real_im = importlib.import_module
    monkeypatch.setattr(importlib, "import_module",
                        lambda name, *a: no_package(name) if name.split(".")[0] == package else real_im(name, *a))
    one_line_error(*run(["analyze", spec], capsys), needle=f"pip install 'costlab[{extra}]'")


def _fake_libraries(monkeypatch):
    import types

    tv = types.ModuleType("torchvision")
    tv.models = types.ModuleType("torchvision.models")
    tv.models.list_models = lambda: ["resnet18", "tiny_net"]
    tv.models.get_model = lambda name, weights=None, num_classes=1000: nn.Sequential(
        nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, num_classes))
    timm = types.ModuleType("timm")
    timm.is_model = lambda name: name == "tiny_vit"
    timm.list_models = lambda: ["tiny_vit"]

    def create_model(name, pretrained=False, **kw):
        m = nn.Sequential(nn.Conv2d(3, 4, 4, stride=4), nn.Flatten(), nn.LazyLinear(2) if kw.get("lazy") else
                          nn.Linear(4 * 8 * 8, 2))
        m.pretrained_cfg = {"input_size": (3, 32, 32)}
        return m

    timm.create_model = create_model
    tf = types.ModuleType("transformers")
    tf.CONFIG_MAPPING = {"bert": None, "gpt2": None}

    class AutoConfig:
        @staticmethod
        def for_model(name, **kw):
            return types.SimpleNamespace(model_type=name, vocab_size=50, hidden_size=8,
                                         max_position_embeddings=16, **kw)

    class Tiny(nn.Module):
        def __init__(self, cfg):
            super().__init__()
            self.emb = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
            self.layers = nn.Sequential(*[nn.Linear(cfg.hidden_size, cfg.hidden_size)
                                          for _ in range(getattr(cfg, "num_hidden_layers", 4))])

        def forward(self, input_ids):
            return self.layers(self.emb(input_ids))

    class AutoModel:
        from_config = staticmethod(Tiny)

    tf.AutoConfig, tf.AutoModel = AutoConfig, AutoModel
    for name, mod in (("torchvision", tv), ("torchvision.models", tv.models), ("timm", timm), ("transformers", tf)):
        monkeypatch.setitem(sys.modules, name, mod)


def test_library_specs_with_mocked_packages(capsys, monkeypatch):
    _fake_libraries(monkeypatch)
    code, out, err = run(["analyze", "torchvision:resnet18:num_classes=10", "--format", "json"], capsys)
    assert code == 0, err
    d = json.loads(out)
    assert d["input_shape"] == [1, 3, 224, 224] and d["totals"]["params"] == 4 * 3 * 9 + 4 + 4 * 10 + 10
    one_line_error(*run(["analyze", "torchvision:resnet19"], capsys), needle="did you mean resnet18")
    one_line_error(*run(["analyze", "torchvision:resnet18:colour=red"], capsys), needle="cannot build")
    code, out, err = run(["analyze", "timm:tiny_vit", "--format", "json"], capsys)
    assert code == 0, err
    assert json.loads(out)["input_shape"] == [1, 3, 32, 32]                  # timm's pretrained_cfg
    code, out, err = run(["analyze", "hf:bert:num_hidden_layers=2", "--format", "json"], capsys)
    assert code == 0, err
    d = json.loads(out)
    assert d["input_shape"] == [1, 16] and d["totals"]["macs"] == 2 * 16 * 8 * 8    # int64 token ids
    assert "default input 1x16:int64" in err
    one_line_error(*run(["analyze", "hf:bret"], capsys), needle="did you mean bert")
    code, out, err = run(["analyze", "hf:gpt2", "--input-shape", "2x5:int64", "--format", "json"], capsys)
    assert code == 0 and json.loads(out)["totals"]["macs"] == 4 * 10 * 8 * 8
