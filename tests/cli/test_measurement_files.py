"""Reading a measurement file: quoted specs after a space, short rows, comment lines."""
from __future__ import annotations

from tests.cli.measurement_boards import fbnet_archs, run


def test_measurements_accept_a_space_before_a_quoted_spec(tmp_path, capsys):
    p = tmp_path / "spaced.csv"
    with p.open("w") as f:
        f.write("spec, latency_ms\n")
        for i, a in enumerate(fbnet_archs(5)):
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


def test_measurement_files_take_comment_lines(tmp_path):
    from costlab.calibrate.measurements import read_measurements

    p = tmp_path / "c.csv"
    p.write_text("# board: rk3399, 1 thread\nspec,latency_ms\n# warm-up excluded\nlenet5,1.5\n  # another\n"
                 "squeezenet1_1,20\n")
    m = read_measurements(p)
    assert [r.spec for r in m.rows] == ["lenet5", "squeezenet1_1"] and [r.line for r in m.rows] == [4, 6]
