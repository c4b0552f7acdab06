"""Inputs that used to end in a traceback (issue 22 item 6): an absurd latency in a
measurement file, a sweep output folder that cannot take its parts, Ctrl-C during start-up."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from costlab import entry
from tests.cli.measurement_boards import board, run


@pytest.mark.parametrize("value", ["1e308", "1e-308"])
def test_an_implausible_latency_is_refused_with_its_line(tmp_path, capsys, value):
    p = board(tmp_path, [10.0, 12.0, value, 9.0])
    out = tmp_path / "b.json"
    code, o, e = run(["calibrate", "--measurements", str(p), "--name", "b", "-o", str(out), "-q"], capsys)
    assert code == 2 and len(e.strip().splitlines()) == 1, e
    assert f"{p}" in e and "line 4" in e and "plausible" in e and "Traceback" not in e
    assert not out.exists()


def test_sweep_parts_folder_that_cannot_be_made_is_one_line(tmp_path, capsys, monkeypatch):
    real_mkdir = Path.mkdir

    def refuse(self, *a, **k):
        if self.name.endswith(".parts"):
            raise PermissionError(13, "Permission denied")
        return real_mkdir(self, *a, **k)

    monkeypatch.setattr(Path, "mkdir", refuse)
    specs = tmp_path / "specs.txt"
    specs.write_text("mobilenet_v2:width=0.5 96\n")
    out = tmp_path / "s.csv"
    code, o, e = run(["sweep", str(specs), "--device", "arm", "-o", str(out)], capsys)
    assert code == 2 and "Traceback" not in e and "Permission denied" in e and "choose another -o" in e, e
    assert not out.exists() and sorted(os.listdir(tmp_path)) == ["specs.txt"]


def test_ctrl_c_while_the_cli_loads_is_one_line_and_130(capsys, monkeypatch):
    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(entry, "_load", interrupted)
    assert entry.main(["analyze", "lenet5"]) == 130
    assert capsys.readouterr().err == "costlab: aborted\n"


def test_the_console_script_is_the_guarded_entry():
    import tomllib

    meta = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    assert meta["project"]["scripts"]["costlab"] == "costlab.entry:main"


def test_an_empty_fail_on_is_refused_not_silently_nothing(capsys):
    code, o, e = run(["guidelines", "lenet5", "--fail-on", ""], capsys)
    assert code == 2 and "--fail-on is empty" in e and len(e.strip().splitlines()) == 1


def test_a_read_only_output_file_is_not_replaced(tmp_path, capsys):
    out = tmp_path / "keep.json"
    out.write_text("mine\n")
    out.chmod(0o444)
    code, o, e = run(["analyze", "lenet5", "--format", "json", "-o", str(out)], capsys)
    assert code == 2 and "read-only" in e and out.read_text() == "mine\n"


def test_guidelines_takes_a_device_and_measures_shares_of_latency(capsys):
    code, o, e = run(["guidelines", "shufflenet_v1:groups=8", "--device", "arm"], capsys)
    assert code == 0 and "cost      latency (total" in o
    code, o, e = run(["guidelines", "shufflenet_v1:groups=8"], capsys)
    assert code == 0 and "cost      MAC bytes" in o


def test_the_validation_headline_says_which_rows_it_leaves_out(capsys):
    code, o, e = run(["validate", "--device", "arm", "-q"], capsys)
    head = o.splitlines()[0]
    assert code == 0 and "leaves out 4 role=train rows" in head and "vgg16" in head and "role=check" in head


def test_crosscheck_never_calls_an_uncounted_op_explained(tmp_path, capsys):
    net = tmp_path / "svdnet.py"
    net.write_text("import torch\nimport torch.nn as nn\n\n"
                   "class M(nn.Module):\n"
                   "    def __init__(self):\n        super().__init__()\n        self.lin = nn.Linear(8, 8)\n"
                   "    def forward(self, x):\n        return torch.linalg.svd(self.lin(x))[1]\n\n"
                   "def build():\n    return M()\n")
    code, o, e = run(["crosscheck", f"{net}:build", "--input-shape", "4x8", "--format", "json"], capsys)
    import json

    res = json.loads(o)[0]
    assert code == 1, e
    assert res["unexplained"] and any("does not count" in " ".join(r["reasons"]) for r in res["rows"])
