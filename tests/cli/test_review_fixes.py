"""Problems a fresh-eyes review found in the new commands, each with the behaviour it asked for."""
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


def _board(tmp_path, n=30):
    p = tmp_path / "board.csv"
    with p.open("w") as f:
        f.write("spec,latency_ms\n")
        for r in list(csv.DictReader(FBNET.open()))[:n]:
            f.write(f"\"fbnet:arch={r['arch_str']}\",{r['raspi4']}\n")
    return p


def test_measurements_never_take_a_shipped_profiles_name(tmp_path, capsys):
    board = _board(tmp_path)
    for name in ("arm-sd810", "arm"):
        code, _, err = run(["calibrate", "--measurements", str(board), "--name", name, "-q"], capsys)
        assert code == 2 and "choose another --name" in err and err.count("\n") == 1
    assert not any(Path(costlab.latency.profile.user_profiles_dir()).glob("arm*.json"))


def test_few_shot_csv_has_numbers_only(tmp_path, capsys):
    code, out, _ = run(["validate", "--measurements", str(_board(tmp_path)), "--samples", "10", "--repeats", "2",
                        "--format", "csv", "-q"], capsys)
    rows = list(csv.DictReader(out.splitlines()))
    assert code == 0 and rows[0]["model"] == "predictor"
    float(rows[0]["mape"]), float(rows[0]["mape_std"]), float(rows[1]["spearman"])


def test_compare_refuses_runtime_without_device(capsys):
    code, _, err = run(["compare", "lenet5", "lenet5", "--runtime", "eager"], capsys)
    assert code == 2 and "--device" in err


def test_gpu_held_out_numbers_follow_the_runtime():
    prof = costlab.latency.load_profile("gpu-h200")
    for rt in ("eager", "cudagraph"):
        info = costlab.analyze("lenet5", device="gpu-h200", runtime=rt).to_dict()["latency"]
        assert info["held_out"]["mape"] == prof.validation["held_out"][rt]["all"]["mape"]


class _Emb(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(1000, 64)

    def forward(self, x):
        return self.emb(x)


def test_embedding_reads_the_rows_it_gathers_and_the_input_dtype_is_reported():
    r = costlab.analyze(_Emb(), input_shape="1x16:int64")
    row = r.layers.iloc[0]
    assert row["op"] == "gather"
    assert row["mac_bytes"] == 16 * 64 * 4 + 16 * 8 + 16 * 64 * 4     # rows read + ids + rows written
    assert r.to_dict()["input_dtypes"] == ["int64"]
    from costlab.present.report import report_text

    assert "1x16:int64" in report_text(r, "table")


def test_profile_output_may_go_to_the_not_yet_created_user_folder(tmp_path, monkeypatch):
    import click

    from costlab.cli.options import check_output_path

    folder = tmp_path / "fresh" / "profiles"
    monkeypatch.setenv("COSTLAB_PROFILES", str(folder))
    assert check_output_path(None, None, str(folder / "cpu-local.json")) and folder.is_dir()
    try:
        check_output_path(None, None, str(tmp_path / "missing" / "x.json"))
    except click.BadParameter:
        pass
    else:
        raise AssertionError("a missing folder that is not the user profile folder must be refused")


def test_search_refuses_one_file_for_table_and_plot(tmp_path, capsys):
    f = str(tmp_path / "same.png")
    code, _, err = run(["search", "mobilenet_v2", "--knob", "width=0.5", "--device", "arm", "--budget-ms", "100",
                        "-o", f, "--plot", f], capsys)
    assert code == 2 and "same file" in err and not Path(f).exists()


def test_library_refuses_a_model_of_the_wrong_type():
    import pytest

    from costlab.errors import InputError

    with pytest.raises(InputError, match="nn.Module or a spec string"):
        costlab.analyze(42)
    report = costlab.analyze("lenet5")
    with pytest.raises(InputError, match="got Report"):
        costlab.api.check_guidelines(report)
