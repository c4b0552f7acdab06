"""The one output-format rule: --format when given, else the -o suffix, else a table."""
from __future__ import annotations

import csv
import json

import pytest

from costlab.cli import all_commands, main
from costlab.cli.options import output_format


def run(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("args", [["analyze", "squeezenet1_1", "--resolution", "64"],
                                  ["guidelines", "squeezenet1_1", "--resolution", "64"],
                                  ["compare", "squeezenet1_1", "mobilenet_v1", "--resolution", "64"]])
def test_json_suffix_writes_json(args, tmp_path, capsys):
    out = tmp_path / "r.json"
    code, _, err = run(args + ["-o", str(out)], capsys)
    assert code == 0, err
    json.loads(out.read_text())          # a table here would not parse


def test_csv_and_md_suffixes(tmp_path, capsys):
    c, m = tmp_path / "r.csv", tmp_path / "r.md"
    assert run(["analyze", "squeezenet1_1", "--resolution", "64", "-o", str(c)], capsys)[0] == 0
    rows = list(csv.DictReader(c.open()))
    assert rows and "macs" in rows[0]
    assert run(["analyze", "squeezenet1_1", "--resolution", "64", "-o", str(m)], capsys)[0] == 0
    assert "|---" in m.read_text().replace(" ", "").replace(":", "")


def test_explicit_format_wins_with_a_warning(tmp_path, capsys):
    out = tmp_path / "r.json"
    code, _, err = run(["analyze", "squeezenet1_1", "--resolution", "64", "--format", "csv", "-o", str(out)], capsys)
    assert code == 0 and "suffix says json" in err
    assert out.read_text().startswith("name,")


def test_stdout_is_a_table_by_default(capsys):
    code, out, _ = run(["analyze", "squeezenet1_1", "--resolution", "64"], capsys)
    assert code == 0 and "-----" in out


def test_rule():
    assert output_format(None, None) == "table"
    assert output_format(None, "x.unknown") == "table"
    assert output_format(None, "X.JSON") == "json"
    assert output_format(None, "x.md", ("table", "csv")) == "table"      # a choice the command lacks
    assert output_format("markdown", "x.txt") == "markdown"


def test_every_command_with_format_and_output_infers():
    for cmd in all_commands():
        names = {p.name: p for p in cmd.params}
        if "fmt" in names and "output" in names:
            assert names["fmt"].default is None, cmd.name
