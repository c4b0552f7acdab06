"""Issue 22 items 2 and 7: a forward that reads tensor values. Library specs (``torchvision:``,
``timm:``, ``hf:``), built on meta, are built again on CPU and traced on real zero inputs (as zoo
models were); a user's module is traced again on real zeros; either way the report and stderr
say which path was taken. Stand-in libraries here: nothing is downloaded or needs installing."""
from __future__ import annotations

import json
import sys
import types

import pytest
import torch
import torch.nn as nn

from costlab.api import count
from costlab.cli import main
from costlab.errors import TraceError


class Branchy(nn.Module):
    """Counts one Linear or two, by the input's values: zero inputs take the one-Linear way."""

    def __init__(self, broken_on_real: bool = False):
        super().__init__()
        self.a, self.b = nn.Linear(8, 8), nn.Linear(8, 4)
        self.broken_on_real = broken_on_real

    def forward(self, x):
        x = x.flatten(1)[:, :8]
        if x.sum() > 0:                   # reads a value: no meta tensor can answer
            x = self.a(x)
        if self.broken_on_real:
            raise ValueError("boom on real tensors")
        return self.b(x)


def _stand_in_libraries(monkeypatch, broken_on_real=False):
    tv = types.ModuleType("torchvision")
    tv.models = types.ModuleType("torchvision.models")
    tv.models.list_models = lambda: ["branchy"]
    tv.models.get_model = lambda name, weights=None: Branchy(broken_on_real)
    timm = types.ModuleType("timm")
    timm.is_model = lambda name: name == "branchy"
    timm.list_models = lambda: ["branchy"]
    timm.create_model = lambda name, pretrained=False: Branchy(broken_on_real)
    for name, mod in (("torchvision", tv), ("torchvision.models", tv.models), ("timm", timm)):
        monkeypatch.setitem(sys.modules, name, mod)


@pytest.mark.parametrize("spec", ["torchvision:branchy", "timm:branchy"])
def test_library_spec_built_on_meta_is_retried_on_cpu_real_tensors(spec, monkeypatch):
    _stand_in_libraries(monkeypatch)
    r = count(spec)                                   # raised DataDependentError before
    assert r.graph.mode == "real"
    assert r.totals["macs"] == 8 * 4 and r.totals["params_unused"] == 8 * 8 + 8   # zeros skip self.a
    note = r.sections["trace"].notes[0]
    assert "built again on CPU and traced on real zero inputs" in note and "item()" in note
    assert json.loads(r.to_json())["trace"]["mode"] == "real"


def test_library_spec_whose_real_trace_fails_says_both_paths(monkeypatch):
    _stand_in_libraries(monkeypatch, broken_on_real=True)
    with pytest.raises(TraceError) as exc:
        count("torchvision:branchy")
    msg = str(exc.value)
    assert "cannot run on meta tensors" in msg and "built again on CPU" in msg and "boom on real tensors" in msg


USER_FILE = '''
import torch.nn as nn
class Branchy(nn.Module):
    def __init__(self):
        super().__init__(); self.a = nn.Linear(8, 8); self.b = nn.Linear(8, 4)
    def forward(self, x):
        if x.sum() > 0:
            x = self.a(x)
        return self.b(x)
def build():
    return Branchy()
net = Branchy()
'''


@pytest.mark.parametrize("attr", ["build", "net"])
def test_user_spec_reading_values_says_so_in_table_json_and_stderr(attr, tmp_path, monkeypatch, capsys):
    (tmp_path / "branchy_user_mod.py").write_text(USER_FILE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    for spec in (f"branchy_user_mod.py:{attr}", f"branchy_user_mod:{attr}"):
        code = main(["analyze", spec, "--input-shape", "2x8"])
        out, err = capsys.readouterr()
        assert code == 0, err
        assert "traced      on real zero inputs" in out
        assert "costlab: note: the forward reads tensor values" in err and "traced again on real zero inputs" in err
        code = main(["analyze", spec, "--input-shape", "2x8", "--format", "json"])
        d = json.loads(capsys.readouterr().out)
        assert d["trace"]["mode"] == "real" and d["totals"]["macs"] == 2 * 8 * 4


def test_meta_traceable_model_has_no_trace_note(capsys):
    r = count(nn.Sequential(nn.Linear(8, 4)), (2, 8))
    assert r.graph.mode == "meta" and "trace" not in r.sections and "trace" not in json.loads(r.to_json())
    assert main(["guidelines", "lenet5"]) in (0, 1)
    assert "note" not in capsys.readouterr().err


def test_guidelines_prints_the_trace_note(tmp_path, monkeypatch, capsys):
    (tmp_path / "branchy_user_mod2.py").write_text(USER_FILE)
    monkeypatch.chdir(tmp_path)
    main(["guidelines", "branchy_user_mod2.py:build", "--input-shape", "2x8"])
    assert "costlab: note: branchy_user_mod2.py:build: the forward reads tensor values" in capsys.readouterr().err


def test_batch_mismatch_is_a_note_in_advise_as_in_analyze(capsys):
    assert main(["analyze", "lenet5", "--device", "arm", "--batch", "2"]) == 0
    a_err = capsys.readouterr().err
    assert main(["advise", "lenet5", "--device", "arm", "--batch", "2", "--format", "json"]) == 0
    out, v_err = capsys.readouterr()
    line = next(l for l in a_err.splitlines() if "calibration batch" in l)
    assert line.startswith("costlab: note: ") and line in v_err.splitlines()
    assert "warning: batch" not in v_err and any("calibration batch" in n for n in json.loads(out)["notes"])
