"""search and sweep refuse a space too large before sampling it."""
from __future__ import annotations

from costlab.cli import main
from tests.cli.measurement_boards import run


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


def test_sweep_refuses_a_space_too_large_before_sampling(tmp_path, capsys, monkeypatch):
    from costlab import search, sweep

    monkeypatch.setattr(sweep, "MAX_SPACE", 50)
    monkeypatch.setattr(sweep, "sample_space", lambda *a, **k: (_ for _ in ()).throw(AssertionError("sampled")))
    out = tmp_path / "s.csv"
    code = main(["sweep", "--space", "fbnet", "--n", "51", "--device", "arm", "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "at most 50 architectures" in err and err.count("\n") == 1 and not out.exists()
    assert search.MAX_VARIANTS >= 1                    # the search cap is separate (its own test)
