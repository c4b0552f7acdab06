"""Problems a second fresh-eyes review (a NAS researcher's and an embedded engineer's use of the
newer commands) found, each with the behaviour it asked for."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import torch.nn as nn

import costlab
from costlab.cli import main

FBNET = Path(costlab.__file__).parent / "data" / "latency" / "fbnet_space_help_latency.csv"


def run(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def _archs(n):
    return [r["arch_str"] for r in list(csv.DictReader(FBNET.open()))[:n]]


def _board(tmp_path, latencies, name="board.csv"):
    p = tmp_path / name
    with p.open("w") as f:
        f.write("spec,latency_ms\n")
        for a, ms in zip(_archs(len(latencies)), latencies):
            f.write(f"\"fbnet:arch={a}\",{ms}\n")
    return p


def test_calibrate_on_equal_latencies_prints_a_dash_not_a_traceback(tmp_path, capsys):
    # every row 5 ms: the rank correlation is undefined (None); the summary line used to crash on it
    out = tmp_path / "p.json"
    code, stdout, err = run(["calibrate", "--measurements", str(_board(tmp_path, [5] * 6)), "-o", str(out), "-q"],
                            capsys)
    assert code == 0, err
    assert "Spearman - ->" in stdout and "not defined" in err
    assert json.loads(out.read_text())["validation"]["spearman"] is None


def test_validate_says_why_rank_correlations_are_missing(tmp_path, capsys):
    board = _board(tmp_path, [10 + i for i in range(8)])
    code, out, _ = run(["validate", "--measurements", str(board), "--samples", "7", "--repeats", "2", "-q"], capsys)
    assert code == 0
    assert "not defined" in out and "1 held-out row per repeat" in out and "lower --samples" in out


def test_validate_markdown_table_is_ended_before_the_notes(tmp_path, capsys):
    # whole-millisecond data adds a note line; glued to the table, Markdown reads it as one more row
    board = _board(tmp_path, [10 + i for i in range(8)])
    code, out, _ = run(["validate", "--measurements", str(board), "--samples", "4", "--repeats", "2",
                        "--format", "markdown", "-q"], capsys)
    lines = out.rstrip("\n").splitlines()
    last_row = max(i for i, ln in enumerate(lines) if ln.startswith("|"))
    assert code == 0 and "whole-millisecond" in out
    assert lines[last_row + 1] == ""


def test_measurements_accept_a_space_before_a_quoted_spec(tmp_path, capsys):
    p = tmp_path / "spaced.csv"
    with p.open("w") as f:
        f.write("spec, latency_ms\n")
        for i, a in enumerate(_archs(5)):
            f.write(f" \"fbnet:arch={a}\", {10 + i * 1.5}\n")
    from costlab.calibrate.measurements import read_measurements

    rows = read_measurements(p)
    assert len(rows) == 5 and rows[0].spec.startswith("fbnet:arch=")


def test_a_row_with_too_few_fields_is_not_told_to_quote_commas(tmp_path, capsys):
    p = tmp_path / "short.csv"
    p.write_text("spec,latency_ms,batch\nlenet5,1.5\n")
    code, _, err = run(["calibrate", "--measurements", str(p), "-o", str(tmp_path / "o.json"), "-q"], capsys)
    assert code == 2 and err.count("\n") == 1 and "line 2" in err
    assert "quote" not in err and "lenet5,1.5," in err
    assert not (tmp_path / "o.json").exists()


def test_search_refuses_a_space_too_large_before_sampling(capsys, monkeypatch):
    # --space 100000000 used to be sampled and held in memory until the kernel killed the process;
    # here the cap is lowered and sampling forbidden, so the old behaviour fails fast
    import costlab.search as search

    def no_sampling(*a, **k):
        raise AssertionError("sampled before checking the size")

    monkeypatch.setattr(search, "MAX_VARIANTS", 1000)
    monkeypatch.setattr(search, "sample_archs", no_sampling)
    code, _, err = run(["search", "fbnet", "--space", "1001", "--device", "arm", "--budget-ms", "30"], capsys)
    assert code == 2 and err.count("\n") == 1 and "costlab sweep --space fbnet" in err
    monkeypatch.undo()
    code, _, err = run(["search", "fbnet", "--space", "100000000", "--device", "arm", "--budget-ms", "30"], capsys)
    assert code == 2 and "at most 1,000,000" in err


class _Tokens(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(100, 16)
        self.fc = nn.Linear(16, 4)

    def forward(self, ids):
        return self.fc(self.emb(ids)).mean(1)


def test_advise_and_compare_name_the_token_inputs_dtype(tmp_path, capsys):
    # the header said '(input 1x32, float32)' for token ids: the int64 input was lost
    from costlab.advise import advise
    from costlab.present.advice import advice_text

    a = advise(_Tokens(), "arm", input_shape="1x32:int64")
    assert a.to_dict()["input_dtypes"] == ["int64"]
    assert "(input 1x32:int64, float32)" in advice_text(a.to_dict(), "table")
    f = tmp_path / "tok.py"
    f.write_text("import torch.nn as nn\n"
                 "class T(nn.Module):\n"
                 "    def __init__(s):\n"
                 "        super().__init__(); s.e = nn.Embedding(100, 8)\n"
                 "    def forward(s, ids, x):\n"
                 "        return s.e(ids).sum(1) + x\n"
                 "def build():\n"
                 "    return T()\n")
    code, out, err = run(["compare", f"{f}:build", "--input-shape", "1x32:int64,1x8", "--format", "csv"], capsys)
    assert code == 0, err
    assert next(csv.DictReader(out.splitlines()))["input"] == "1x32:int64,1x8"   # every input, not the first


def test_zoo_only_commands_say_a_user_model_is_not_a_zoo_spec(tmp_path, capsys):
    # 'unknown model my.py (run costlab zoo)' sent a user with a working file.py:factory to the zoo list
    specs = tmp_path / "specs.txt"
    specs.write_text("my_net.py:build 1x3x32x32\n")
    code, _, err = run(["sweep", str(specs), "--device", "arm", "-o", str(tmp_path / "o.csv")], capsys)
    assert code == 2 and err.count("\n") == 1 and "zoo specs only" in err
    assert not (tmp_path / "o.csv").exists()
    code, _, err = run(["analyze", "mobilenet_v2.5"], capsys)     # a typo still gets the close names
    assert code == 2 and "did you mean mobilenet_v2" in err


def test_shape_errors_name_the_input_given(tmp_path, capsys):
    f = tmp_path / "shapes.py"
    f.write_text("import torch.nn as nn\n"
                 "def conv():\n    return nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())\n"
                 "def mlp():\n    return nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 10))\n")
    for factory, shape in (("conv", "1x4x8x8"), ("mlp", "1x3x9x9")):
        code = main(["analyze", f"{f}:{factory}", "--input-shape", shape])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1
        assert f"traced with input {shape}; check --input-shape" in err


def test_missing_output_folder_says_how_to_fix(tmp_path, capsys):
    missing = tmp_path / "nodir"
    code = main(["analyze", "lenet5", "-o", str(missing / "x.json")])
    err = capsys.readouterr().err
    assert code == 2 and f"mkdir -p {missing}" in err and not missing.exists()


def test_one_repeat_has_no_spread(tmp_path, capsys):
    import csv as _csv
    import json as _json

    from costlab import __file__ as pkg

    data = Path(pkg).parent / "data" / "latency" / "fbnet_space_help_latency.csv"
    board = tmp_path / "b.csv"
    with board.open("w") as fh:
        fh.write("spec,latency_ms\n")
        for r in list(_csv.DictReader(data.open()))[:15]:
            fh.write(f"\"fbnet:arch={r['arch_str']}\",{r['raspi4']}\n")
    code = main(["validate", "--measurements", str(board), "--samples", "10", "--repeats", "1", "-q"])
    out = capsys.readouterr().out
    assert code == 0 and "+-" not in out
    code = main(["validate", "--measurements", str(board), "--samples", "10", "--repeats", "1", "-q",
                 "--format", "json"])
    d = _json.loads(capsys.readouterr().out)
    assert d["spread"]["mape"]["std"] is None


def test_sweep_refuses_a_space_too_large_before_sampling(tmp_path, capsys, monkeypatch):
    from costlab import search, sweep

    monkeypatch.setattr(sweep, "MAX_SPACE", 50)
    monkeypatch.setattr(sweep, "sample_space", lambda *a, **k: (_ for _ in ()).throw(AssertionError("sampled")))
    out = tmp_path / "s.csv"
    code = main(["sweep", "--space", "fbnet", "--n", "51", "--device", "arm", "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "at most 50 architectures" in err and err.count("\n") == 1 and not out.exists()
    assert search.MAX_VARIANTS >= 1                    # the search cap is separate (its own test)


def test_compare_names_the_model_that_failed(tmp_path, capsys):
    f = tmp_path / "one.py"
    f.write_text("import torch.nn as nn\ndef conv():\n    return nn.Sequential(nn.Conv2d(4, 8, 3), nn.ReLU())\n")
    code = main(["compare", "squeezenet1_1", f"{f}:conv", "--input-shape", "1x3x64x64"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert f"{f}:conv: the model's forward raised" in err and "--input-shape applies to every MODEL" in err


def test_measurement_files_take_comment_lines(tmp_path):
    from costlab.calibrate.measurements import read_measurements

    p = tmp_path / "c.csv"
    p.write_text("# board: rk3399, 1 thread\nspec,latency_ms\n# warm-up excluded\nlenet5,1.5\n  # another\n"
                 "squeezenet1_1,20\n")
    m = read_measurements(p)
    assert [r.spec for r in m.rows] == ["lenet5", "squeezenet1_1"] and [r.line for r in m.rows] == [4, 6]


def test_profiles_says_why_a_family_column_is_empty(capsys):
    code, out, _ = run(["profiles"], capsys)
    line = next(ln for ln in out.splitlines() if ln.startswith("gpu-h200: no leave-one-family-out"))
    assert code == 0 and "17 zoo networks never fitted" in line and "costlab validate --device gpu-h200" in line
