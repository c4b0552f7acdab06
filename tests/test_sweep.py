"""costlab sweep: rows equal the predictor, local processes and Ray give the same file row for
row, a killed run loses nothing and a rerun recomputes nothing done, one-line errors."""
from __future__ import annotations

import sys

import pandas as pd
import pytest

import costlab
from costlab import sweep as W
from costlab import sweep_ray
from costlab.cli import main
from costlab.errors import InputError, UsageError

DEVICES = ["arm", "cpu"]


@pytest.fixture(scope="module")
def items():
    return W.space_items("fbnet", 60, seed=11)


def read(path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=False, **W._ROUND_TRIP)


def test_predict_chunk_rows_equal_analyze(items):
    rows = W.predict_chunk(items[:3] + [("mobilenet_v2:width=0.5", (1, 3, 96, 96))], [costlab.latency.profile.load_document(d)
                                                                                 for d in DEVICES])
    assert list(rows.columns) == W.COLUMNS and len(rows) == 8
    assert list(rows["device"]) == ["arm-sd810", "cpu-local"] * 4
    for r in rows.itertuples():
        rep = costlab.analyze(r.spec, input_shape=r.input_shape, device=r.device)
        assert abs(r.latency_ms - rep.totals["latency_ms"]) <= 1e-6 * rep.totals["latency_ms"]
        assert (r.macs, r.params, r.error) == (rep.totals["macs"], rep.totals["params"], "")


def test_processes_equal_inline_row_for_row(items, tmp_path):
    one = W.sweep(items, DEVICES, tmp_path / "one.csv", jobs=1, chunk_size=7)
    two = W.sweep(items, DEVICES, tmp_path / "two.csv", jobs=2, chunk_size=7)
    assert one.rows == two.rows == 120 and one.computed == 120 and one.errors == 0
    pd.testing.assert_frame_equal(read(tmp_path / "one.csv"), read(tmp_path / "two.csv"))
    assert not (tmp_path / "two.csv.parts").exists()


def test_killed_run_loses_nothing_and_rerun_recomputes_nothing(items, tmp_path):
    out = tmp_path / "r.csv"
    first: list[pd.DataFrame] = []

    def die_after_two(k, rows):
        first.append(rows)
        if len(first) == 2:
            raise KeyboardInterrupt        # a kill between chunks

    with pytest.raises(KeyboardInterrupt):
        W.sweep(items, DEVICES, out, jobs=2, chunk_size=10, on_chunk=die_after_two)
    parts = list((tmp_path / "r.csv.parts").glob("part-*.csv"))
    assert len(parts) == 2 and not out.exists()
    kept = pd.concat([read(p) for p in parts])
    assert len(kept) == 40 and W.partial_note(out).startswith("40 predicted rows are kept")
    second: list[pd.DataFrame] = []
    s = W.sweep(items, DEVICES, out, jobs=1, chunk_size=10, on_chunk=lambda k, r: second.append(r))
    redone = pd.concat(second)
    assert s.computed == len(redone) == 80 and s.already == 40 and s.rows == 120
    assert not set(zip(redone.spec, redone.device)) & set(zip(kept.spec, kept.device))
    W.sweep(items, DEVICES, tmp_path / "fresh.csv", chunk_size=60)
    pd.testing.assert_frame_equal(read(out), read(tmp_path / "fresh.csv"))
    again = W.sweep(items, DEVICES, out)                    # all done: nothing to predict
    assert again.computed == 0 and again.rows == 120
    more = W.sweep(items, DEVICES + ["gpu"], out)           # a new device: only its rows
    assert more.computed == 60 and more.rows == 180


def test_ray_equals_local_processes(items, tmp_path):
    ray = pytest.importorskip("ray")
    W.sweep(items, DEVICES, tmp_path / "local.csv", jobs=2, chunk_size=15)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    try:
        s = W.sweep(items, DEVICES, tmp_path / "ray.csv", backend="ray", chunk_size=15)
    finally:
        ray.shutdown()
    assert s.rows == 120 and s.backend == "ray"
    pd.testing.assert_frame_equal(read(tmp_path / "local.csv"), read(tmp_path / "ray.csv"))


def test_specs_file_and_errors_rows(tmp_path):
    f = tmp_path / "specs.txt"
    f.write_text("# a comment\nmobilenet_v2:width=0.5 96\n\nshufflenet_v2:width=0.5  1x3x128x128  # inline\n"
                 "micro_conv:cin=6,cout=6,groups=4 1x6x56x56\n")
    items = W.read_specs(f)
    assert items == [("mobilenet_v2:width=0.5", (1, 3, 96, 96)), ("shufflenet_v2:width=0.5", (1, 3, 128, 128)),
                     ("micro_conv:cin=6,cout=6,groups=4", (1, 6, 56, 56))]
    s = W.sweep(items, ["arm"], tmp_path / "o.csv")
    df = read(tmp_path / "o.csv")
    assert s.errors == 1 and df["error"].iloc[2] != "" and (df["error"].iloc[:2] == "").all()
    bad = tmp_path / "bad.txt"
    bad.write_text("mobilenet_v2\nnosuchnet\n")
    with pytest.raises(costlab.errors.SpecError, match=r"bad.txt:2: unknown model 'nosuchnet'"):
        W.read_specs(bad)


def test_output_errors(items, tmp_path, monkeypatch):
    with pytest.raises(UsageError, match=r"\.parquet or \.csv"):
        W.sweep(items[:2], ["arm"], tmp_path / "x.json")
    monkeypatch.setattr(W, "_has_parquet", lambda: False)
    with pytest.raises(UsageError, match="pip install pyarrow"):
        W.sweep(items[:2], ["arm"], tmp_path / "x.parquet")
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="not a costlab sweep output"):
        W.sweep(items[:2], ["arm"], tmp_path / "other.csv")


def test_cli_output_in_a_missing_folder_says_the_fix(tmp_path, capsys):
    # was: "cannot write 'nodir/a.csv': folder 'nodir' does not exist", the one -o without the fix
    code = main(["sweep", "--space", "fbnet", "--n", "2", "--device", "arm", "-o", str(tmp_path / "no" / "a.csv")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and f"create it first (mkdir -p {tmp_path / 'no'})" in err
    assert not list(tmp_path.iterdir())


def test_ray_missing_or_unreachable(items, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)           # import ray -> ImportError
    with pytest.raises(UsageError, match=r"pip install costlab\[ray\]"):
        W.sweep(items[:2], ["arm"], tmp_path / "x.csv", backend="ray")
    monkeypatch.undo()
    pytest.importorskip("ray")
    with pytest.raises(UsageError, match="cannot reach the Ray cluster at '127.0.0.1:1'"):
        W.sweep(items[:2], ["arm"], tmp_path / "x.csv", backend="ray", ray_address="127.0.0.1:1")


def test_cli(tmp_path, capsys):
    from costlab.cli import cmd_sweep

    assert cmd_sweep.BACKENDS == W.BACKENDS
    out = tmp_path / "s.csv"
    code = main(["sweep", "--space", "nb201", "--n", "12", "--device", "arm,gpu", "-o", str(out), "--jobs", "2",
                 "--chunk-size", "5"])
    o, e = capsys.readouterr()
    assert code == 0 and o.startswith(f"wrote {out}: 24 rows (12 models x 2 devices") and e == ""
    assert len(read(out)) == 24
    for args, words in [(["--device", "arm", "-o", str(out)], "either SPECS_FILE or --space"),
                        (["--space", "nb201", "--device", "arm", "-o", str(out)], "--space needs --n"),
                        (["--space", "nb201", "--n", "2", "--device", "arm", "-o", str(out), "--ray-address", "x:1"],
                         "goes with --backend ray")]:
        code = main(["sweep"] + args)
        o, e = capsys.readouterr()
        assert code == 2 and len(e.strip().splitlines()) == 1 and words in e, e


def test_parquet_output_resumes_like_csv(items, tmp_path):
    pytest.importorskip("pyarrow")
    out = tmp_path / "r.parquet"

    def stop(k, rows):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        W.sweep(items, DEVICES, out, chunk_size=25, on_chunk=stop)
    s = W.sweep(items, DEVICES, out, chunk_size=25)
    assert (s.already, s.computed) == (50, 70)
    W.sweep(items, DEVICES, tmp_path / "r.csv")
    pd.testing.assert_frame_equal(pd.read_parquet(out), read(tmp_path / "r.csv"))


def _my_profile(path, scale: float) -> None:
    """A copy of the arm profile named myarm, its coefficients times ``scale``."""
    import json

    p = {k: v for k, v in costlab.latency.profile.load_document("arm").items() if not k.startswith("_")}
    p["name"] = "myarm"
    for cls in p["predictor"]["classes"].values():
        for k in cls:
            cls[k] *= scale
    path.write_text(json.dumps(p))


def test_edited_profile_predicts_again(items, tmp_path, capsys):
    prof, out = tmp_path / "myarm.json", tmp_path / "p.csv"
    _my_profile(prof, 1.0)
    first = W.sweep(items[:20], [str(prof)], out)
    old = read(out)
    assert first.computed == 20 and (old["profile_hash"] == W.profile_hash(costlab.latency.profile.load_document(
        str(prof)))).all()
    _my_profile(prof, 2.0)                                  # the profile file edited: coefficients doubled
    s = W.sweep(items[:20], [str(prof), "cpu"], out)
    assert (s.computed, s.already, s.rows) == (40, 0, 40)
    assert s.notes == ["profile myarm changed since the earlier run: 20 rows predicted again"]
    new = read(out)
    W.sweep(items[:20], [str(prof), "cpu"], tmp_path / "fresh.csv")
    pd.testing.assert_frame_equal(new, read(tmp_path / "fresh.csv"))
    mine = new[new["device"] == "myarm"].reset_index(drop=True)
    assert ((mine["latency_ms"] / old["latency_ms"] - 2).abs() < 1e-3).all()
    again = W.sweep(items[:20], [str(prof), "cpu"], out)    # unchanged now: nothing to predict
    assert (again.computed, again.already, again.notes) == (0, 40, [])
    _my_profile(prof, 3.0)
    code = main(["sweep", "--space", "fbnet", "--n", "5", "--seed", "11", "--device", str(prof), "-o", str(out)])
    o, e = capsys.readouterr()
    assert code == 0 and "5 predicted" in o and "0 already there" in o
    assert "s (1 local process), 0 already there" in o and "(" + "(" not in o   # was: ((1, '1 local process'))
    assert e == "costlab: note: profile myarm changed since the earlier run: 5 rows predicted again\n" \
                f"costlab: note: {out} held 35 rows of other models or devices, left out: the output holds " \
                "the models x devices of this run only\n"


def test_output_holds_exactly_this_run(items, tmp_path, capsys):
    out = tmp_path / "s.csv"
    W.sweep(items[:30], ["arm"], out)
    s = W.sweep(items[30:], ["arm"], out)                  # an unrelated run into the same file
    df = read(out)
    assert (s.rows, s.computed, s.already) == (30, 30, 0) and list(df["spec"]) == [i[0] for i in items[30:]]
    assert s.notes == [f"{out} held 30 rows of other models or devices, left out: the output holds the models "
                       "x devices of this run only"]
    sub = W.sweep(items[40:50], ["arm"], out)               # a subset: reused, the rest left out
    assert (sub.rows, sub.computed, sub.already) == (10, 0, 10) and len(read(out)) == 10
    for seed, n in [(0, 50), (1, 50), (0, 20)]:
        code = main(["sweep", "--space", "nb201", "--n", str(n), "--seed", str(seed), "--device", "arm",
                     "-o", str(out)])
        o, e = capsys.readouterr()
        assert code == 0 and o.startswith(f"wrote {out}: {n} rows ({n} models x 1 device") and len(read(out)) == n

    def stop(k, rows):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):                  # a killed run of another request ...
        W.sweep(items, DEVICES, out, chunk_size=10, on_chunk=stop)
    with pytest.raises(UsageError, match=r"holds 10 rows of a stopped sweep of other models or devices .*"
                                         r"rerun that command to finish it, or remove the folder"):
        W.sweep(items[:5], DEVICES, out)                    # ... is not thrown away
    done = W.sweep(items, DEVICES, out, chunk_size=10)      # its own command resumes it
    assert (done.rows, done.already, done.computed) == (120, 20, 100) and len(read(out)) == 120


def test_error_rows_have_empty_macs_and_params(tmp_path):
    f = tmp_path / "specs.txt"
    f.write_text("mobilenet_v2:width=0.0\nmobilenet_v2:width=0.5 96\n")
    rows = W.predict_chunk(W.read_specs(f), [costlab.latency.profile.load_document("arm")])
    assert rows["macs"].isna().tolist() == rows["params"].isna().tolist() == [True, False]
    assert rows["latency_ms"].isna().tolist() == [True, False] and rows["macs"].iloc[1] > 0
    out = tmp_path / "e.csv"
    s = W.sweep(W.read_specs(f), ["arm", "gpu"], out)
    lines = out.read_text().splitlines()
    assert s.errors == 2 and s.rows == 4
    for line in lines[1:3]:                                 # the width=0.0 rows: empty cells, not -1
        cells = line.split(",")
        assert cells[3:6] == ["", "", ""] and "width" in cells[6], line
    assert all(",-1," not in line for line in lines)
    assert int(lines[3].split(",")[4]) == rows["macs"].iloc[1]
    df = W.Store(out).output_rows()
    assert df["macs"].isna().sum() == 2 and df["macs"].sum() == 2 * rows["macs"].iloc[1]
    again = W.sweep(W.read_specs(f), ["arm", "gpu"], out)   # read back and kept as written
    assert again.computed == 0 and out.read_text().splitlines() == lines


def test_duplicate_spec_lines_are_merged_with_a_note(tmp_path, capsys):
    specs = tmp_path / "specs.txt"
    specs.write_text("lenet5\nlenet5\nlenet5 28\nlenet5 1x1x32x32\n")     # 28 is lenet5's default input
    assert main(["sweep", str(specs), "--device", "arm", "-o", str(tmp_path / "out.csv")]) == 0
    out, err = capsys.readouterr()
    assert "costlab: note: 2 duplicate model lines (same spec and input) merged: 2 distinct models swept" in err
    assert len(read(tmp_path / "out.csv")) == 2
    specs.write_text("lenet5\n")
    assert main(["sweep", str(specs), "--device", "arm", "-o", str(tmp_path / "out3.csv")]) == 0
    assert "duplicate" not in capsys.readouterr().err


def test_rerun_of_a_finished_sweep_reads_and_writes_nothing(items, tmp_path, monkeypatch, capsys):
    """Issue 22 item 9: a finished sweep's index says 'nothing to do' without parsing the output."""
    import os

    out = tmp_path / "done.csv"
    assert main(["sweep", "--space", "fbnet", "--n", "60", "--seed", "11", "--device", "arm,cpu", "-o", str(out),
                 "--chunk-size", "25"]) == 0
    capsys.readouterr()
    before, stat = out.read_bytes(), os.stat(out)

    def no_parse(*a, **k):
        raise AssertionError("the output was parsed")

    monkeypatch.setattr(W.Store, "_read", no_parse)
    monkeypatch.setattr(W.pd, "read_csv", no_parse)
    monkeypatch.setattr(W, "predict_chunk", no_parse)
    assert main(["sweep", "--space", "fbnet", "--n", "60", "--seed", "11", "--device", "arm,cpu", "-o", str(out)]) == 0
    o, e = capsys.readouterr()
    assert o == (f"nothing to do: {out} already holds all 120 rows (60 models x 2 devices: arm-sd810, cpu-local); "
                 "left as it was\n") and e == ""
    assert out.read_bytes() == before and os.stat(out).st_mtime_ns == stat.st_mtime_ns
    assert not (tmp_path / "done.csv.parts").exists()
    s = W.sweep(items, DEVICES, out)
    assert s.untouched and s.computed == 0 and s.already == 120
    monkeypatch.undo()
    # another request, or an output changed since, is read as before
    assert not W.sweep(items[:30], DEVICES, out).untouched
    assert read(out).shape[0] == 60 and W.sweep(items[:30], DEVICES, out).untouched
    out.write_text(out.read_text() + "\n")
    again = W.sweep(items[:30], DEVICES, out)
    assert not again.untouched and again.computed == 0 and W.sweep(items[:30], DEVICES, out).untouched


class _FakeRay:
    """Enough of Ray's API for _run_ray: tasks run when their result is asked for."""

    class exceptions:
        class RayError(Exception):
            pass

        class RayTaskError(RayError):
            pass

    def __init__(self, on_init):
        self.up, self.on_init = False, on_init

    def is_initialized(self):
        return self.up

    def init(self, **kw):
        self.on_init()
        self.up = True

    def shutdown(self):
        self.up = False

    def remote(self, f):
        class Ref:
            def __init__(self, *a):
                self.a = a

        return type("R", (), {"remote": staticmethod(lambda *a: Ref(*a)), "f": f})()

    def put(self, x):
        return x

    def wait(self, pending, num_returns=1):
        return pending[:1], pending[1:]

    def get(self, ref):
        return W.predict_chunk(*ref.a)

    def cancel(self, ref):
        pass


def test_ray_says_what_it_waits_for_and_shows_chunks_on_a_terminal(items, tmp_path, monkeypatch, capsys):
    """Issue 22 item 9: one stderr line before Ray starts; per-chunk progress on a terminal only."""
    seen = []
    fake = _FakeRay(lambda: seen.append(capsys.readouterr().err))
    monkeypatch.setitem(sys.modules, "ray", fake)
    s = W.sweep(items[:20], DEVICES, tmp_path / "a.csv", backend="ray", chunk_size=5)
    assert s.rows == 40 and s.computed == 40
    assert len(seen) == 1 and seen[0] == (f"costlab: starting a local Ray instance ({sweep_ray._cpus()} CPUs) for 4 chunks "
                                          "(40 rows) as Ray tasks; first results after Ray's start-up "
                                          "(seconds to a minute)\n")
    assert capsys.readouterr().err == ""                     # not a terminal: no progress
    fake.up = True
    monkeypatch.setattr(fake, "cluster_resources", lambda: {"CPU": 3.0}, raising=False)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    W.sweep(items[20:30], DEVICES, tmp_path / "b.csv", backend="ray", chunk_size=5)
    err = capsys.readouterr().err
    assert err.startswith("costlab: submitting 2 chunks (20 rows) as Ray tasks to the running Ray instance (3 CPUs)\n")
    assert "1/2 chunks" in err and "2/2 chunks" in err
    fake.shutdown()
    assert sweep_ray.ray_start_line(1, 2, "10.0.0.5:6379").startswith("connecting to the Ray cluster at 10.0.0.5:6379 for 1 chunk")


def test_local_workers_are_not_forked_beside_jax(monkeypatch):
    """A process that loaded JAX (multithreaded, unsafe to fork) gets spawned workers."""
    import sys
    import types

    import costlab.sweep as S

    seen = []

    class Stop(Exception):
        pass

    def fake_pool(*a, mp_context=None, **k):
        seen.append(mp_context.get_start_method())
        raise Stop

    monkeypatch.setattr(S, "ProcessPoolExecutor", fake_pool)
    monkeypatch.setattr(S, "predict_chunk", lambda chunk, devs: None)
    tasks = [(["a"], ["arm"]), (["b"], ["arm"])]
    for loaded in (False, True):
        if loaded:
            monkeypatch.setitem(sys.modules, "jax", types.ModuleType("jax"))
        else:
            monkeypatch.delitem(sys.modules, "jax", raising=False)
        it = S._run_local(tasks, 2)
        next(it)
        with pytest.raises(Stop):
            next(it)
    assert seen[-1] == "spawn" and (seen[0] == "fork" or "fork" not in __import__("multiprocessing").get_all_start_methods())
