"""One CLI vocabulary: ``--device`` is always a device profile (one option, one help text),
``costlab profile --target`` names the torch device (``--device`` a deprecated alias with a note),
one file per command, and plot's inputs through the one input rule."""
from __future__ import annotations

import ast
import os
from pathlib import Path

import click
import pytest

import costlab.api
import costlab.cli as cli_pkg
from costlab.cli import all_commands
from costlab.cli.options import PROFILE_HELP
from costlab.latency.profile import profiles_dir
from tests.cli.measurement_boards import run

CLI_DIR = Path(cli_pkg.__file__).parent



def _commands():
    """Every (path, click command) of the CLI, subcommands of groups included."""
    out = []
    for cmd in all_commands():
        if isinstance(cmd, click.Group):
            out += [(f"{cmd.name} {sub.name}", sub) for sub in cmd.commands.values()]
        else:
            out.append((cmd.name, cmd))
    return out


def test_every_device_option_is_a_profile_with_one_help_text():
    seen = []
    for path, cmd in _commands():
        for p in cmd.params:
            if "--device" in p.opts and path != "profile":
                seen.append(path)
                assert p.help.startswith(PROFILE_HELP), path
                assert p.metavar == "PROFILE", path
    assert {"analyze", "advise", "compare", "search", "sweep", "validate", "plot layers", "plot breakdown",
            "plot flops-latency"} <= set(seen)


@pytest.mark.parametrize("device", ["arm", "arm-sd810", str(profiles_dir() / "arm-sd810.json")])
def test_profile_option_takes_a_class_a_name_or_a_path(device, capsys):
    code, out, err = run(["analyze", "lenet5", "--device", device, "--format", "json"], capsys)
    assert code == 0, err
    assert '"device": "arm-sd810"' in out


@pytest.mark.parametrize("args", [
    ["analyze", "no-such-model", "--device", "arm-sd81"],          # the profile is checked first
    ["sweep", "--space", "fbnet", "--n", "2", "--device", "arm,arm-sd81", "-o", "x.csv"],
    ["validate", "--device", "missing/profile.json"],
])
def test_a_bad_profile_fails_before_any_work_in_one_line(args, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(args, capsys)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "profile" in err
    assert not os.listdir(tmp_path)


def test_profile_target_and_the_deprecated_device_alias(capsys, monkeypatch):
    from costlab.calibrate import measure

    seen = {}

    def stop(dev, **kw):
        seen["dev"], seen["command"] = dev, kw["command"]
        raise measure.MeasureError("stopped by the test")

    monkeypatch.setattr(measure, "measure_profile", stop)
    code, out, err = run(["profile", "--target", "cpu", "--no-fit"], capsys)
    assert code == 2 and "stopped by the test" in err and "deprecated" not in err
    assert seen["dev"].type == "cpu" and seen["command"].startswith("costlab profile --target cpu")
    code, out, err = run(["profile", "--device", "cpu", "--no-fit"], capsys)
    assert code == 2 and "stopped by the test" in err
    note = err.splitlines()[0]
    assert note.startswith("costlab: note:") and "deprecated" in note and "--target cpu" in note
    assert seen["command"].startswith("costlab profile --target cpu")     # recorded in the new vocabulary
    code, out, err = run(["profile", "--target", "cpu", "--device", "cuda"], capsys)
    assert code == 2 and "disagree" in err and len(err.strip().splitlines()) == 1


def test_profile_help_names_target_and_marks_device_deprecated(capsys):
    code, out, _ = run(["profile", "--help"], capsys)
    assert code == 0 and "--target cpu|cuda[:N]" in out and "deprecated alias of --target" in out


def test_one_file_per_command_named_after_it():
    files = {p.stem for p in CLI_DIR.glob("cmd_*.py")}
    assert files == {f"cmd_{cmd.name.replace('-', '_')}" for cmd in all_commands()}


def test_cli_builds_no_tables_or_json():
    """Tables, CSV and JSON text are made in costlab.present; the CLI parses options and calls it."""
    for path in CLI_DIR.glob("*.py"):
        tree = ast.parse(path.read_text())
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
        assert not names & {"text_table", "markdown_table", "to_csv"}, path.name
        calls = {ast.unparse(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
        assert "json.dumps" not in calls and "pd.DataFrame" not in calls, path.name


def test_plot_inputs_go_through_the_one_input_rule(capsys, tmp_path, monkeypatch):
    calls = []
    real = costlab.api.input_shapes_for

    def spy(resolved, input_shape, resolution, batch=1):
        calls.append((input_shape, resolution, batch))
        return real(resolved, input_shape, resolution, batch)

    monkeypatch.setattr(costlab.api, "input_shapes_for", spy)
    # gpu (gtx1080ti) is calibrated at batch 8: the paper's input runs at the profile's batch ...
    code, _, err = run(["plot", "breakdown", "lenet5", "--device", "gpu", "-o", str(tmp_path / "a.png")], capsys)
    assert code == 0, err
    assert calls[-1] == (None, None, 8)
    # ... and --input-shape carries its own batch (it used to be overwritten with the profile's)
    code, _, err = run(["plot", "layers", "lenet5", "--device", "gpu", "--input-shape", "2x1x28x28",
                        "-o", str(tmp_path / "b.png")], capsys)
    assert code == 0, err
    assert calls[-1] == ("2x1x28x28", None, 1)
    # the rule's own refusal reaches the user as one line, exit 2
    code, out, err = run(["plot", "layers", "lenet5", "--input-shape", "1x1x28x28", "--resolution", "28",
                          "-o", str(tmp_path / "c.png")], capsys)
    assert code == 2 and "not both" in err and not (tmp_path / "c.png").exists()
