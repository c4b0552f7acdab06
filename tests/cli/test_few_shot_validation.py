"""calibrate / validate on a user's measurements: undefined statistics, tables and notes,
numbers-only CSV, and the names a fitted profile may take."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import costlab
from costlab.cli import main
from tests.cli.measurement_boards import board, raspi4_board, run


def test_calibrate_on_equal_latencies_prints_a_dash_not_a_traceback(tmp_path, capsys):
    # every row 5 ms: the rank correlation is undefined (None); the summary line used to crash on it
    out = tmp_path / "p.json"
    code, stdout, err = run(["calibrate", "--measurements", str(board(tmp_path, [5] * 6)), "-o", str(out), "-q"],
                            capsys)
    assert code == 0, err
    assert "Spearman - ->" in stdout and "not defined" in err
    assert json.loads(out.read_text())["validation"]["spearman"] is None


def test_validate_says_why_rank_correlations_are_missing(tmp_path, capsys):
    path = board(tmp_path, [10 + i for i in range(8)])
    code, out, _ = run(["validate", "--measurements", str(path), "--samples", "7", "--repeats", "2", "-q"], capsys)
    assert code == 0
    assert "not defined" in out and "1 held-out row per repeat" in out and "lower --samples" in out


def test_validate_markdown_table_is_ended_before_the_notes(tmp_path, capsys):
    # whole-millisecond data adds a note line; glued to the table, Markdown reads it as one more row
    path = board(tmp_path, [10 + i for i in range(8)])
    code, out, _ = run(["validate", "--measurements", str(path), "--samples", "4", "--repeats", "2",
                        "--format", "markdown", "-q"], capsys)
    lines = out.rstrip("\n").splitlines()
    last_row = max(i for i, ln in enumerate(lines) if ln.startswith("|"))
    assert code == 0 and "whole-millisecond" in out
    assert lines[last_row + 1] == ""


def test_one_repeat_has_no_spread(tmp_path, capsys):
    path = raspi4_board(tmp_path, 15, "b.csv")
    code = main(["validate", "--measurements", str(path), "--samples", "10", "--repeats", "1", "-q"])
    out = capsys.readouterr().out
    assert code == 0 and "+-" not in out
    code = main(["validate", "--measurements", str(path), "--samples", "10", "--repeats", "1", "-q",
                 "--format", "json"])
    d = json.loads(capsys.readouterr().out)
    assert d["spread"]["mape"]["std"] is None


def test_few_shot_csv_has_numbers_only(tmp_path, capsys):
    code, out, _ = run(["validate", "--measurements", str(raspi4_board(tmp_path)), "--samples", "10", "--repeats", "2",
                        "--format", "csv", "-q"], capsys)
    rows = list(csv.DictReader(out.splitlines()))
    assert code == 0 and rows[0]["model"] == "predictor"
    float(rows[0]["mape"]), float(rows[0]["mape_std"]), float(rows[1]["spearman"])


def test_measurements_never_take_a_shipped_profiles_name(tmp_path, capsys):
    path = raspi4_board(tmp_path)
    for name in ("arm-sd810", "arm"):
        code, _, err = run(["calibrate", "--measurements", str(path), "--name", name, "-q"], capsys)
        assert code == 2 and "choose another --name" in err and err.count("\n") == 1
    assert not any(Path(costlab.latency.profile.user_profiles_dir()).glob("arm*.json"))
