"""Issue 22 item 8: a bad --device, --plot suffix, output path or profile --name is refused before
any model is built or traced (not 10-40 s later)."""
from __future__ import annotations

import pytest

import costlab.tracer as tracer
from costlab.cli import main


@pytest.fixture
def no_trace(monkeypatch):
    def fail(*a, **k):
        raise AssertionError("traced before the bad option was refused")

    monkeypatch.setattr(tracer, "trace", fail)


@pytest.mark.parametrize("args, msg", [
    (["analyze", "xception", "--device", "nosuch"], "unknown device profile 'nosuch'"),
    (["memory", "xception", "--plot", "out.xyz"], "cannot tell the image format"),
    (["plot", "layers", "xception", "-o", "out.xyz"], "out.xyz"),
    (["analyze", "xception", "-o", "/no/such/folder/out.txt"], "/no/such/folder"),
    (["compare", "xception", "resnet50", "--device", "nosuch"], "unknown device profile 'nosuch'"),
    (["profile", "--name", "bad name", "--no-live-check"], "bad profile name"),
])
def test_refused_before_tracing(capsys, no_trace, args, msg):
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2 and msg in err and "Traceback" not in err, err


def test_calibrate_bad_name_refused_before_fitting(capsys, no_trace, tmp_path):
    from tests.cli.measurement_boards import board

    f = board(tmp_path, [5.0 + i for i in range(12)])
    code = main(["calibrate", "--measurements", str(f), "--name", "bad name", "-o", str(tmp_path / "p.json")])
    err = capsys.readouterr().err
    assert code == 2 and "bad profile name 'bad name'" in err and not (tmp_path / "p.json").exists(), err
