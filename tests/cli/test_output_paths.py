"""Output paths: a missing folder says how to fix it, the user profile folder is created,
one file is never both table and plot."""
from __future__ import annotations

from pathlib import Path

from costlab.cli import main
from tests.cli.measurement_boards import run


def test_missing_output_folder_says_how_to_fix(tmp_path, capsys):
    missing = tmp_path / "nodir"
    code = main(["analyze", "lenet5", "-o", str(missing / "x.json")])
    err = capsys.readouterr().err
    assert code == 2 and f"mkdir -p {missing}" in err and not missing.exists()


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


def _tiny_files(tmp_path):
    import torch
    import torch.nn as nn

    (tmp_path / "net.py").write_text("import torch.nn as nn\ndef build():\n    return nn.Sequential(nn.Linear(4, 2))\n")
    torch.save(nn.Sequential(nn.Linear(4, 2)).state_dict(), tmp_path / "w.pt")
    return tmp_path / "net.py", tmp_path / "w.pt"


def test_an_output_that_is_the_model_or_its_weights_is_refused(tmp_path, capsys, monkeypatch):
    """-o net.py / -o w.pt replaced the user's model file or checkpoint with a table."""
    net, weights = _tiny_files(tmp_path)
    monkeypatch.chdir(tmp_path)
    before = {p: p.read_bytes() for p in (net, weights)}
    for args in (["memory", "net.py:build", "--input-shape", "1x4", "-o", "net.py"],
                 ["analyze", "net.py:build", "--input-shape", "1x4", "-o", str(net)],
                 ["compress", "net.py:build", "--input-shape", "1x4", "--weights", "w.pt", "--prune", "0.5",
                  "-o", "w.pt"],
                 ["crosscheck", "lenet5", "net.py:build", "--input-shape", "1x4", "-o", "./net.py"]):
        code, out, err = run(args, capsys)
        assert code == 2 and err.count("\n") == 1 and "never replaces its input" in err, (args, err)
    assert {p: p.read_bytes() for p in (net, weights)} == before
    code, _, _ = run(["memory", "net.py:build", "--input-shape", "1x4", "-o", "mem.json"], capsys)
    assert code == 0 and (tmp_path / "mem.json").exists()
