"""CLI: formats, atomic output, depth roll-up, and one-line errors with exit code 2."""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import textwrap

import pytest

from costlab.cli import main

JSON_TOTALS = {"params", "macs", "flops", "elem_ops", "mac_bytes", "activations"}
JSON_LAYER = {"name", "module", "op", "input_shapes", "output_shape", "params", "macs", "flops",
              "elem_ops", "mac_bytes", "activations"}


def run(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_json_schema_and_totals(capsys, tmp_path):
    target = tmp_path / "mv2.json"
    code, out, err = run(["analyze", "mobilenet_v2", "--format", "json", "-o", str(target)], capsys)
    assert code == 0 and out == ""
    d = json.loads(target.read_text())
    assert {"model", "input_shape", "dtype", "conventions", "totals", "layers", "unsupported"} <= set(d)
    assert d["model"] == "mobilenet_v2" and d["input_shape"] == [1, 3, 224, 224] and d["dtype"] == "float32"
    assert JSON_TOTALS <= set(d["totals"])
    assert all(JSON_LAYER <= set(layer) for layer in d["layers"])
    assert sum(layer["macs"] for layer in d["layers"]) == d["totals"]["macs"]
    assert d["totals"]["flops"] == 2 * d["totals"]["macs"]
    assert d["unsupported"] == []
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".costlab-")]


def test_csv_knobs_and_resolution(capsys):
    code, out, _ = run(["analyze", "shufflenet_v2:width=0.5", "--resolution", "160", "--format", "csv"], capsys)
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows[0]["input_shapes"].startswith("1x3x160x160")
    assert {"name", "op", "macs", "mac_bytes"} <= set(rows[0])
    total = sum(int(r["macs"]) for r in rows)
    code, out, _ = run(["analyze", "shufflenet_v2:width=0.5", "--resolution", "160", "--format", "json"], capsys)
    assert json.loads(out)["totals"]["macs"] == total


def test_depth_rollup_sums_match(capsys):
    code, out, _ = run(["analyze", "mobilenet_v1:width=0.75", "--depth", "1", "--format", "json"], capsys)
    d1 = json.loads(out)
    code, out, _ = run(["analyze", "mobilenet_v1:width=0.75", "--format", "json"], capsys)
    d = json.loads(out)
    assert len(d1["layers"]) < len(d["layers"])
    for k in ("macs", "params", "mac_bytes"):
        assert sum(layer[k] for layer in d1["layers"]) == d["totals"][k]
    code, out, _ = run(["analyze", "mobilenet_v1:width=0.75", "--depth", "2"], capsys)
    assert code == 0 and "MACs" in out


def test_table_and_markdown(capsys):
    code, out, _ = run(["analyze", "mobilenet_v2", "--resolution", "96"], capsys)
    assert code == 0 and "dwconv3x3" in out and "MAC bytes" in out and "unsupported ops: none" in out
    code, out, _ = run(["analyze", "mobilenet_v2", "--resolution", "96", "--format", "markdown"], capsys)
    assert code == 0 and sum(line.startswith("|---") for line in out.splitlines()) == 1 and "Conventions" in out


def test_user_model_file(capsys, tmp_path):
    f = tmp_path / "my_nets.py"
    f.write_text(textwrap.dedent("""
        import torch.nn as nn
        def build_net():
            return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
    """))
    code, out, _ = run(["analyze", f"{f}:build_net", "--input-shape", "1x3x96x96", "--format", "json"], capsys)
    assert code == 0
    d = json.loads(out)
    assert d["totals"]["macs"] == 94 * 94 * 4 * 27


def test_package_module_factory_and_dotted_alias(capsys):
    code, out, _ = run(["analyze", "torch.nn:Identity", "--input-shape", "1x3x8x8", "--format", "json"], capsys)
    assert code == 0 and json.loads(out)["totals"]["macs"] == 0
    code, out, _ = run(["analyze", "costlab.no_such_module:f", "--input-shape", "1x3"], capsys)
    assert code == 2
    # a zoo alias containing a dot, with knobs, is still a zoo model
    code, out, _ = run(["analyze", "squeezenet1.0:bypass=simple", "--format", "json"], capsys)
    assert code == 0 and json.loads(out)["model"].startswith("squeezenet1_0")


def test_zoo_lists_models(capsys):
    code, out, _ = run(["zoo", "--format", "json"], capsys)
    names = {m["name"] for m in json.loads(out)["models"]}
    assert {"mobilenet_v1", "mobilenet_v2", "shufflenet_v2"} <= names
    code, out, _ = run(["zoo"], capsys)
    assert code == 0 and "mobilenet_v1" in out and "width" in out


@pytest.mark.parametrize("args,needle", [
    (["analyze", "mobilenet_v3"], "did you mean"),
    (["analyze", "mobilenet_v1:alpha=0.5"], "no knob 'alpha'"),
    (["analyze", "mobilenet_v1:width=abc"], "expects float"),
    (["analyze", "mobilenet_v1:width=nan"], "expects a finite number"),
    (["search", "mobilenet_v2", "--knob", "width=inf", "--device", "arm", "--budget-ms", "30"], "finite number"),
    (["analyze", "shufflenet_v2:width=0.7"], "must be one of"),
    (["analyze", "mobilenet_v1:width"], "key=value"),
    (["analyze", "mobilenet_v2", "--input-shape", "1x3xaax224"], "bad input shape"),
    (["analyze", "mobilenet_v2", "--input-shape", "1x3x0x224"], "positive"),
    (["analyze", "mobilenet_v2", "--input-shape", "1,3,128,128"], "for one input write 1x3x128x128"),
    (["analyze", "lenet5", "--input-shape", "1x1x28x28,1x3"], "--input-shape gave 2 inputs"),
    (["analyze", "mobilenet_v2", "--resolution", "-5"], "resolution"),
    (["analyze", "nope.py:build"], "does not exist"),
    (["analyze", "mobilenet_v2", "--input-shape", "1x3x224x224", "--resolution", "224"], "not both"),
    (["analyze", "mobilenet_v2", "--format", "xml"], "xml"),
])
def test_bad_input_one_line_exit_2(args, needle, capsys):
    code, out, err = run(args, capsys)
    assert code == 2
    assert out == ""
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err


def test_missing_factory_and_raising_forward(capsys, tmp_path):
    f = tmp_path / "nets.py"
    f.write_text(textwrap.dedent("""
        import torch.nn as nn
        class Bad(nn.Module):
            def forward(self, x):
                raise ValueError("shape mismatch in my layer")
        def bad():
            return Bad()
        def build_net():
            return nn.Linear(3, 3)
    """))
    code, _, err = run(["analyze", f"{f}:buildnet", "--input-shape", "1x3"], capsys)
    assert code == 2 and "no factory 'buildnet'" in err and "build_net" in err
    out_file = tmp_path / "out.json"
    code, _, err = run(["analyze", f"{f}:bad", "--input-shape", "1x3", "-o", str(out_file)], capsys)
    assert code == 2 and "shape mismatch in my layer" in err and err.count("\n") == 1
    assert not out_file.exists()


def test_unwritable_output_leaves_nothing(capsys, tmp_path):
    missing = tmp_path / "no" / "such" / "dir" / "x.json"
    code, out, err = run(["analyze", "mobilenet_v2", "--resolution", "64", "-o", str(missing)], capsys)
    assert code == 2 and "does not exist" in err and not missing.exists()
    code, out, err = run(["analyze", "mobilenet_v2", "--resolution", "64", "-o", str(tmp_path)], capsys)
    assert code == 2 and "is a directory" in err


def test_existing_file_replaced_atomically(capsys, tmp_path):
    target = tmp_path / "r.json"
    target.write_text("old")
    code, _, _ = run(["analyze", "mobilenet_v2", "--resolution", "64", "--format", "json", "-o", str(target)], capsys)
    assert code == 0 and json.loads(target.read_text())["model"] == "mobilenet_v2"
    # a failing run does not touch the existing file
    code, _, _ = run(["analyze", "mobilenet_v9", "--format", "json", "-o", str(target)], capsys)
    assert code == 2 and json.loads(target.read_text())["model"] == "mobilenet_v2"


def test_console_script_no_traceback():
    """The installed entry point: exit code 2 and one line, through a real process."""
    p = subprocess.run([sys.executable, "-m", "costlab.cli", "analyze", "mobilenet_v3"],
                       capture_output=True, text=True)
    assert p.returncode == 2 and "Traceback" not in p.stderr and p.stderr.count("\n") == 1


def test_analyze_with_guidelines(capsys):
    code, out, _ = run(["analyze", "shufflenet_v1:groups=8", "--guidelines", "--format", "json"], capsys)
    assert code == 0
    d = json.loads(out)
    assert {f["guideline"] for f in d["findings"]} >= {"G1", "G2"}
    assert d["guidelines"]["G2"]["violated"] is True
    assert any("G2" in (layer.get("findings") or "") for layer in d["layers"])
    code, out, _ = run(["analyze", "shufflenet_v1:groups=8", "--guidelines", "--depth", "1"], capsys)
    assert code == 0 and "findings" in out and "violates" in out


def test_output_through_symlink_keeps_link_and_mode(capsys, tmp_path):
    real = tmp_path / "real.json"
    real.write_text("old")
    real.chmod(0o600)
    link = tmp_path / "link.json"
    link.symlink_to(real)
    code, _, _ = run(["analyze", "lenet5", "--format", "json", "-o", str(link)], capsys)
    assert code == 0 and link.is_symlink()
    assert json.loads(real.read_text())["model"] == "lenet5"
    assert (real.stat().st_mode & 0o777) == 0o600


def test_depth0_one_row_duplicate_knob_batch_with_shape(capsys):
    code, out, _ = run(["analyze", "mobilenet_v2", "--resolution", "64", "--depth", "0", "--format", "json"], capsys)
    assert code == 0 and [layer["name"] for layer in json.loads(out)["layers"]] == ["(model)"]
    code, _, err = run(["analyze", "mobilenet_v1:width=0.5,width=0.75"], capsys)
    assert code == 2 and "given twice" in err
    code, _, err = run(["analyze", "mobilenet_v2", "--input-shape", "1x3x64x64", "--batch", "4"], capsys)
    assert code == 2 and "--batch goes with --resolution" in err


def test_factory_that_exits(capsys, tmp_path):
    f = tmp_path / "exits.py"
    f.write_text("import sys\ndef f():\n    sys.exit(3)\n")
    code, _, err = run(["analyze", f"{f}:f", "--input-shape", "1x3"], capsys)
    assert code == 2 and "SystemExit" in err and err.count("\n") == 1


def test_rolled_up_latency_has_no_float_noise_and_markdown_trailer_is_its_own_paragraph(capsys):
    # --depth 1 CSV/JSON printed sums such as 115.40564199999993; the markdown's guidelines line
    # followed the conventions list directly, so it rendered as part of the list's last item
    code, out, _ = run(["analyze", "mobilenet_v2", "--depth", "1", "--device", "arm", "--format", "csv"], capsys)
    assert code == 0
    cells = [c for line in out.splitlines()[1:] for c in line.split(",")[-1:]]
    assert all(len(c.split(".")[-1]) <= 9 for c in cells) and "115.405642" in out
    code, out, _ = run(["analyze", "mobilenet_v2", "--depth", "1", "--device", "arm", "--format", "json"], capsys)
    assert json.loads(out)["layers"][0]["latency_ms"] == 115.405642
    code, out, _ = run(["analyze", "lenet5", "--guidelines", "--format", "markdown"], capsys)
    lines = out.rstrip("\n").splitlines()
    assert lines[-1].startswith("guidelines  ") and lines[-2] == "" and lines[-3].startswith("- **")
