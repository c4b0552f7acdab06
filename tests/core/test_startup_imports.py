"""Issue 22 item 10: what start-up loads (no timing here: benchmarks/bench_startup.py times it).
Fresh interpreters, since the test process has loaded everything already."""
from __future__ import annotations

import subprocess
import sys

import pytest


def _fresh(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_trace_loads_no_compiler_and_leaves_the_real_one_importable():
    out = _fresh(
        "import sys, costlab\n"
        "r = costlab.analyze('lenet5'); costlab.analyze('mobilenet_v2')\n"
        "print(r.totals['macs'], 'torch._dynamo' in sys.modules, 'sympy' in sys.modules,\n"
        "      'torch.fx.experimental.symbolic_shapes' in sys.modules)\n"
        "import torch._dynamo, torch.fx.experimental.symbolic_shapes as ss, sympy\n"
        "print(hasattr(torch._dynamo, 'optimize'), hasattr(ss, 'ShapeEnv'), hasattr(sympy, 'Symbol'))\n")
    first, second = out.splitlines()
    assert first == "2293000 False False False"        # loaded torch._dynamo and sympy before
    assert second == "True True True"                   # the stand-ins are gone after the trace


def test_a_forward_using_the_real_modules_during_a_trace_gets_them():
    out = _fresh(
        "import sys, torch, torch.nn as nn, costlab\n"
        "class M(nn.Module):\n"
        "    def __init__(s): super().__init__(); s.l = nn.Linear(4, 4)\n"
        "    def forward(s, x):\n"
        "        import torch.fx.experimental.symbolic_shapes as ss\n"
        "        assert ss.ShapeEnv is not None and ss.guard_size_oblivious(True)\n"
        "        return s.l(x)\n"
        "print(costlab.analyze(M(), (2, 4)).totals['macs'], type(sys.modules['torch.fx.experimental.symbolic_shapes']).__name__)\n")
    assert out.split() == ["32", "module"]


def test_help_loads_neither_torch_nor_pandas():
    out = _fresh(
        "import sys, contextlib, io\n"
        "from costlab.entry import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try: main(['--help'])\n"
        "    except SystemExit: pass\n"
        "print('torch' in sys.modules, 'pandas' in sys.modules)\n")
    assert out.split() == ["False", "False"]


def test_analyze_prints_its_table_without_pandas_or_the_other_commands():
    """``costlab analyze lenet5``: the counts pass keeps plain rows and the table prints from
    them; pandas (a third of costlab's own start-up), the latency and guideline passes, the file
    readers and the other commands' modules load only when asked for."""
    out = _fresh(
        "import sys, contextlib, io\n"
        "from costlab.entry import main\n"
        "buf = io.StringIO()\n"
        "with contextlib.redirect_stdout(buf):\n"
        "    rc = main(['analyze', 'lenet5'])\n"
        "loaded = [m for m in ('pandas', 'costlab.guidelines.lint', 'costlab.latency.predict',\n"
        "          'costlab.frontends.onnx', 'costlab.frontends.tflite', 'costlab.cli.cmd_advise',\n"
        "          'costlab.cli.cmd_sweep') if m in sys.modules]\n"
        "print(rc, 'MACs        2,293,000' in buf.getvalue(), loaded)\n")
    assert out.strip() == "0 True []"


def test_the_layers_table_is_the_same_dataframe_as_before_once_read():
    import costlab

    r = costlab.analyze("lenet5")
    recs = r.records()
    df = r.layers                                   # built from the rows on first read, then kept
    assert df is r.layers and list(df.columns) == r.layer_keys and len(df) == len(recs) == 7
    assert df["macs"].dtype.kind == "i" and int(df["macs"].sum()) == r.totals["macs"] == 2293000
    df.loc[0, "params"] = -1                        # a user's edit to the frame is what later passes read
    assert r.records()[0]["params"] == -1 and r.copy().layers.loc[0, "params"] == -1
    assert r.rollup(1)["macs"].sum() == r.totals["macs"] and [x["name"] for x in r.rollup_records(0)] == ["(model)"]


def test_every_listed_command_loads_under_its_name():
    from costlab.cli import COMMANDS, cli

    assert cli.list_commands(None) == sorted(COMMANDS)
    for name in COMMANDS:
        assert cli.get_command(None, name).name == name
    assert cli.get_command(None, "nope") is None
