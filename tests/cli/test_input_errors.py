"""Errors about the model and its input name the cause and the fix, in one line."""
from __future__ import annotations

import costlab
from costlab.cli import main
from tests.cli.measurement_boards import run


def test_zoo_only_commands_say_a_user_model_is_not_a_zoo_spec(tmp_path, capsys):
    # 'unknown model my.py (run costlab zoo)' sent a user with a working file.py:factory to the zoo list
    specs = tmp_path / "specs.txt"
    specs.write_text("my_net.py:build 1x3x32x32\n")
    code, _, err = run(["sweep", str(specs), "--device", "arm", "-o", str(tmp_path / "o.csv")], capsys)
    assert code == 2 and err.count("\n") == 1 and "zoo specs only" in err
    assert not (tmp_path / "o.csv").exists()
    code, _, err = run(["memory", str(tmp_path)], capsys)     # a folder: not 'zoo specs only' (memory takes files)
    assert code == 2 and "a path must name a model file" in err and "zoo specs only" not in err
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


def test_compare_names_the_model_that_failed(tmp_path, capsys):
    f = tmp_path / "one.py"
    f.write_text("import torch.nn as nn\ndef conv():\n    return nn.Sequential(nn.Conv2d(4, 8, 3), nn.ReLU())\n")
    code = main(["compare", "squeezenet1_1", f"{f}:conv", "--input-shape", "1x3x64x64"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert f"{f}:conv: the model's forward raised" in err and "--input-shape applies to every MODEL" in err


def test_compare_refuses_runtime_without_device(capsys):
    code, _, err = run(["compare", "lenet5", "lenet5", "--runtime", "eager"], capsys)
    assert code == 2 and "--device" in err


def test_library_refuses_a_model_of_the_wrong_type():
    import pytest

    from costlab.errors import InputError

    with pytest.raises(InputError, match="nn.Module or a spec string"):
        costlab.analyze(42)
    report = costlab.analyze("lenet5")
    with pytest.raises(InputError, match="got Report"):
        costlab.api.check_guidelines(report)


def test_the_api_refuses_a_shape_with_a_zero_or_negative_dimension():
    # as the CLI's --input-shape does; (2, 0, 4) was counted as an empty model and (1, -1) surfaced as
    # torch's "negative dimension" from inside the trace (found by benchmarks/library_models.py: xlnet's
    # config says max_position_embeddings = -1)
    import pytest
    import torch.nn as nn

    from costlab.errors import InputError

    for shape in [(2, 0, 4), (1, -1), [(1, 4), (1, -2)]]:
        with pytest.raises(InputError, match="every dimension must be positive"):
            costlab.analyze(nn.Linear(4, 4), input_shape=shape)
    assert costlab.analyze(nn.Linear(4, 4), input_shape=(2, 4)).totals["macs"] == 32


def test_required_device_is_asked_for_with_the_fix(tmp_path, capsys):
    # advise / search said "unknown device profile 'None'"; sweep said only "Missing option '--device'."
    for args in (["advise", "lenet5"], ["search", "lenet5", "--knob", "resolution=28", "--budget-ms", "9"],
                 ["sweep", "--space", "fbnet", "--n", "2", "-o", str(tmp_path / "s.csv")]):
        code, out, err = run(args, capsys)
        assert code == 2 and out == "" and err.count("\n") == 1, args
        assert "--device is required: name a device profile, e.g. --device arm" in err and "None" not in err
    assert not list(tmp_path.iterdir())
