"""``costlab.compress.compress`` and ``costlab compress``: pipeline, papers' tables, weights
files, errors, and that nothing changes the model."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
import torch.nn as nn

from costlab.cli import main
from costlab.compress import compress
from costlab.compress.tables import DEEP_COMPRESSION, HAN2015
from costlab.spec import InputError

JSON_LAYER = {"name", "params", "nonzero", "dense_bytes", "pruned_bytes", "quantized_bytes", "huffman_bytes"}
JSON_TOTALS = {"params", "nonzero", "dense_bytes", "compressed_bytes", "ratio"}


class Small(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, padding=1)
        self.bn = nn.BatchNorm2d(16)
        self.fc1 = nn.Linear(16 * 8 * 8, 64)
        self.drop = nn.Dropout(0.5)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = torch.relu(self.bn(self.conv(x)))
        x = self.drop(torch.relu(self.fc1(torch.flatten(x, 1))))
        return self.fc2(x)


def run(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def _snapshot(m: nn.Module):
    return {k: v.detach().clone() for k, v in m.state_dict().items()}


@pytest.mark.parametrize("kwargs", [
    dict(prune="conv=0.5,fc=0.9", bits="conv=8,fc=4", index_bits=3, huffman=True),
    dict(bits=4, huffman=True),
    dict(binarize="weights,inputs", keep_full=["none"]),
])
def test_compress_never_changes_the_model(kwargs):
    torch.manual_seed(0)
    m = Small()
    m.train()
    before = _snapshot(m)
    r = compress(m, input_shape=(1, 3, 8, 8), **kwargs)
    after = _snapshot(m)
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    assert m.training and all(mod.training for mod in m.modules())
    assert not m._forward_hooks and not m._forward_pre_hooks
    assert all(not mod._forward_hooks and not mod._forward_pre_hooks for mod in m.modules())
    assert r.totals["compressed_bytes"] < r.totals["dense_bytes"]


def test_pipeline_bookkeeping_on_small_model():
    torch.manual_seed(0)
    m = Small()
    r = compress(m, input_shape=(1, 3, 8, 8), prune="conv=0.5,fc=0.9", bits="conv=8,fc=4", index_bits=3,
                 huffman=True)
    rows = {x["name"]: x for x in r.layers}
    assert list(rows) == ["conv", "fc1", "fc2", "(other parameters)"]     # execution order, BN apart
    assert rows["(other parameters)"]["params"] == 32                      # BN gamma + beta
    fc1 = rows["fc1"]
    assert fc1["weights_nonzero"] == round(0.1 * 1024 * 64) and fc1["nonzero"] == fc1["weights_nonzero"] + 64
    # stage sizes from the definitions: fp32 values + 3-bit index per entry (fillers included) ...
    entries = fc1["weights_nonzero"] + fc1["fillers"]
    assert fc1["pruned_bytes"] == (entries * (32 + 3) + 64 * 32 + 7) // 8
    # ... then 4-bit codes + index + a 16-entry fp32 codebook
    assert fc1["quantized_bytes"] == (entries * (4 + 3) + 16 * 32 + 64 * 32 + 7) // 8
    assert fc1["huffman_bytes"] <= fc1["quantized_bytes"]
    assert fc1["csr_numbers"] == 2 * fc1["weights_nonzero"] + 64 + 1
    assert fc1["macs_pruned"] == round(fc1["macs"] * fc1["keep"])
    # the dropout after fc1 gets the Han et al. 2015 Eq. 2 rate
    assert fc1["dropout"] == "drop" and fc1["dropout_rate_retrain"] == pytest.approx(0.5 * np.sqrt(fc1["keep"]))
    t = r.totals
    for k in ("params", "nonzero", "dense_bytes", "pruned_bytes", "quantized_bytes", "huffman_bytes"):
        assert t[k] == sum(x[k] for x in r.layers)
    assert t["compressed_bytes"] == t["huffman_bytes"] and t["ratio"] == pytest.approx(t["dense_bytes"] /
                                                                                        t["compressed_bytes"])
    assert [s["stage"] for s in r.stages] == ["dense", "pruned", "quantized", "huffman"]


def test_huffman_uses_the_real_histogram():
    # one Linear whose weights take 4 values with probabilities 1/2, 1/4, 1/8, 1/8 (dyadic):
    # k-means with 4 codes recovers them exactly and Huffman codes them in 1.75 bits each
    lin = nn.Linear(64, 64, bias=False)
    vals = np.array([-1.0, -0.5, 0.5, 1.0])
    idx = np.repeat([0, 1, 2, 3], [2048, 1024, 512, 512])
    w = vals[np.random.default_rng(0).permutation(idx)].reshape(64, 64)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(w, dtype=torch.float32))
    r = compress(lin, input_shape=(1, 64), bits=2, huffman=True)
    row = r.layers[0]
    assert row["quant_rmse"] == pytest.approx(0.0, abs=1e-7) and row["codes_used"] == 4
    assert row["weight_bits_huffman"] == pytest.approx(1.75)
    assert row["huffman_bytes"] == (4096 * 1.75 + 4 * 32 + 4 * 8) / 8   # codes + codebook + table


def test_han2015_table_reproduces_lenet5_weights_and_flop_pct():
    # Han et al. 2015 Table 3 (LeNet-5): Weights% and FLOP% per layer; FLOP% = Weights% x Act% of the input
    r = compress("lenet5", prune_table="han2015")
    rows = {x["name"]: x for x in r.layers}
    paper_flop = {"features.conv1": 0.66, "features.conv2": 0.10, "classifier.fc1": 0.06, "classifier.fc2": 0.10}
    for path, (keep, _act) in HAN2015["lenet5"].items():
        assert rows[path]["keep"] == pytest.approx(keep, abs=5e-4)
        assert rows[path]["flop_pct_act"] == pytest.approx(paper_flop[path], abs=0.006)
    # Table 1: 431K -> 36K weights (12x)
    assert r.totals["weights_nonzero"] == pytest.approx(36e3, rel=0.02)
    assert round(r.totals["pruning_rate"]) == 12


def test_deep_compression_lenet5_pq_rates_match_table3():
    # Deep Compression Table 3: P+Q compression rate per layer (counts, codebook, index and fillers)
    dc = DEEP_COMPRESSION["lenet5"]
    r = compress("lenet5", prune_table="han2015", bits=dc["bits"], index_bits=dc["index_bits"])
    for row in r.layers:
        if row["name"] not in dc["layers"]:
            continue
        rate = (row["quantized_bytes"] - (row["dense_bytes"] - 4 * row["weights"])) / (4 * row["weights"])
        assert rate == pytest.approx(dc["layers"][row["name"]][5], rel=0.06)


def test_binarize_first_last_full_precision_and_32x():
    r = compress("lenet5", binarize="weights,inputs")
    rows = {x["name"]: x for x in r.layers}
    assert not rows["features.conv1"]["binarized"] and not rows["classifier.fc2"]["binarized"]
    assert rows["classifier.fc1"]["binarized"]
    assert rows["classifier.fc1"]["quantized_bytes"] == (400_000 + 32 * 500 + 500 * 32 + 7) // 8
    assert 30 < r.binarize["memory_saving_binarized_weights"] < 32          # XNOR-Net abstract: ~32x
    r_all = compress("lenet5", binarize="weights", keep_full=["none"])
    assert all(x["binarized"] for x in r_all.layers if x["kind"] != "other")
    assert r_all.binarize["conv_op_saving"] == pytest.approx(2.0, abs=0.1)  # binary weights: ~2x
    # sign bits and one alpha per filter: no size depends on the initialised weights' histograms
    assert not any("initialised" in n for n in r.notes + r_all.notes)


def test_initialised_weights_are_said_and_seeded():
    a = compress("lenet_300_100", prune=0.9, bits=5, huffman=True, seed=1)
    b = compress("lenet_300_100", prune=0.9, bits=5, huffman=True, seed=1)
    assert a.totals == b.totals
    assert a.settings["weights"] == "init" and "initialised" in a.notes[0]
    state = torch.random.get_rng_state()
    compress("lenet_300_100", prune=0.5, seed=3)
    assert torch.equal(state, torch.random.get_rng_state())      # the caller's RNG is untouched


# -- --weights FILE ------------------------------------------------------------------------

def test_weights_file_is_used(tmp_path):
    from costlab.zoo.lenet import LeNet300100

    m = LeNet300100()
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.sign(torch.randn_like(p)) * 0.25)       # two values only
    path = tmp_path / "w.pt"
    torch.save(m.state_dict(), path)
    r = compress("lenet_300_100", weights=path, bits=3, huffman=True)
    assert r.settings["weights"] == "file" and not any("initialised" in n for n in r.notes)
    assert all(x.get("codes_used", 2) <= 2 for x in r.layers)     # the file's values, not an init
    wrapped = tmp_path / "ckpt.pt"
    torch.save({"state_dict": {f"module.{k}": v for k, v in m.state_dict().items()}, "epoch": 3}, wrapped)
    assert compress("lenet_300_100", weights=wrapped, bits=3).totals["params"] == r.totals["params"]


@pytest.mark.parametrize("payload, message", [
    ("other_model", "not a state dict for lenet_300_100: missing"),
    ("shape", "'classifier.fc3.weight' is 5x100 in the file but 10x100 in the model"),
    ("tensor", "not a state dict"),
    ("module", "cannot read"),
    ("garbage", "cannot read"),
    ("nan", "holds NaN or infinite values"),        # was: every weight silently pruned, 'kept 0'
])
def test_bad_weights_files_are_refused_in_one_line(tmp_path, capsys, payload, message):
    from costlab.zoo.lenet import LeNet5, LeNet300100

    path = tmp_path / "bad.pt"
    if payload == "other_model":
        torch.save(LeNet5().state_dict(), path)
    elif payload == "shape":
        sd = LeNet300100().state_dict()
        sd["classifier.fc3.weight"] = torch.zeros(5, 100)
        torch.save(sd, path)
    elif payload == "tensor":
        torch.save(torch.zeros(3), path)
    elif payload == "module":
        torch.save(LeNet300100(), path)
    elif payload == "nan":
        sd = LeNet300100().state_dict()
        sd["classifier.fc2.weight"][0, 0] = float("nan")
        torch.save(sd, path)
    else:
        path.write_bytes(b"not a torch file")
    with pytest.raises(InputError) as exc:
        compress("lenet_300_100", weights=path, bits=4)
    assert message in str(exc.value) and "\n" not in str(exc.value)
    code, out, err = run(["compress", "lenet_300_100", "--weights", str(path), "--bits", "4"], capsys)
    assert code == 2 and out == "" and err.startswith("costlab: error:") and len(err.strip().splitlines()) == 1


# -- CLI --------------------------------------------------------------------------------------

def test_cli_json_keys_of_the_issue(tmp_path, capsys):
    target = tmp_path / "c.json"
    code, out, err = run(["compress", "lenet5", "--prune", "conv=0.5,fc=0.9", "--bits", "conv=8,fc=5",
                          "--huffman", "--format", "json", "-o", str(target)], capsys)
    assert code == 0 and out == ""
    d = json.loads(target.read_text())
    assert {"model", "settings", "layers", "totals"} <= set(d)
    assert d["model"] == "lenet5"
    assert all(JSON_LAYER <= set(x) for x in d["layers"]) and JSON_TOTALS <= set(d["totals"])
    assert d["totals"]["compressed_bytes"] == sum(x["huffman_bytes"] for x in d["layers"])
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".costlab-")]


@pytest.mark.parametrize("fmt", ["table", "csv", "markdown"])
def test_cli_formats(capsys, fmt):
    code, out, _ = run(["compress", "lenet_300_100", "--prune", "0.9", "--bits", "6", "--huffman",
                        "--format", fmt], capsys)
    assert code == 0 and "classifier.fc1" in out
    if fmt == "csv":
        assert out.splitlines()[0].startswith("name,kind,type,shape,params")
    else:
        assert "initialised" in out and "Huffman coding" in out


@pytest.mark.parametrize("args, fragment", [
    (["--prune", "1.5"], "must lie in [0, 1)"),
    (["--bits", "conv=8,foo=3"], "'foo' is no layer or kind"),
    (["--prune", "0.3", "--prune-table", "han2015"], "not both"),
    (["--prune-table", "nope"], "unknown table"),
    (["--binarize", "weights", "--bits", "3"], "--binarize replaces"),
    (["--binarize", "inputs"], "--binarize: write"),
    (["--huffman"], "add --bits"),
    (["--weights", "/no/such/file.pt"], "does not exist"),
    (["--prune", "conv=0.5,conv=0.6"], "'conv' is given twice"),     # was: the last one silently
    (["--bits", "4,5"], "a bare value is given twice"),
    # every layer kept in full precision: was a TypeError traceback formatting a None saving
    (["--binarize", "weights", "--keep-full", "first,last,features.conv2,classifier.fc1"], "nothing is binarized"),
])
def test_cli_bad_settings_exit_2(capsys, args, fragment):
    code, out, err = run(["compress", "lenet5", *args], capsys)
    assert code == 2 and out == "" and fragment in err and len(err.strip().splitlines()) == 1


def test_prune_table_refuses_other_models(capsys):
    code, _, err = run(["compress", "alexnet:variant=owt", "--prune-table", "han2015"], capsys)
    assert code == 2 and "not for alexnet:variant=owt" in err


def test_a_rate_below_1_never_empties_a_layer_and_json_is_strict(capsys):
    """--prune 0.99999 kept round(0.05) = 0 weights per layer: MACs 0 and pruning_rate Infinity in
    the JSON (not JSON); now each layer keeps at least one weight."""
    import json

    code, out, _ = run(["compress", "lenet5", "--prune", "0.99999", "--bits", "2", "--format", "json"], capsys)
    d = json.loads(out, parse_constant=lambda c: pytest.fail(f"{c} in the JSON"))
    assert code == 0 and all(r["weights_nonzero"] >= 1 for r in d["layers"] if r.get("weights"))
    assert d["totals"]["pruning_rate"] > 1


def test_tied_weights_are_stored_once_and_computed_by_every_module():
    """b.weight = a.weight: the weight is stored once, but both modules compute (128 MACs); compress
    dropped b's 64 MACs, which the trace counts."""
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(8, 8, bias=False), nn.Linear(8, 8, bias=False)
            self.b.weight = self.a.weight

        def forward(self, x):
            return self.b(self.a(x))

    r = compress(Tied(), input_shape=(1, 8), prune=0.5)
    assert r.totals["weights"] == 64 and [row["name"] for row in r.layers] == ["a"]
    assert r.totals["macs"] == 128 and r.totals["macs_pruned"] == 64


def test_a_compression_that_grows_the_model_says_larger(capsys, tmp_path, monkeypatch):
    """Linear(1, 1) with --bits 8: a 256-value codebook for one weight; it printed '0.0x smaller'."""
    (tmp_path / "one.py").write_text("import torch.nn as nn\ndef build():\n    return nn.Sequential(nn.Linear(1, 1))\n")
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(["compress", "one.py:build", "--input-shape", "1x1", "--bits", "8"], capsys)
    assert code == 0 and "x LARGER than dense fp32" in out and "0.0x smaller" not in out


def test_a_model_with_nan_weights_is_refused():
    m = Small()
    with torch.no_grad():
        m.fc1.weight[0, 0] = float("inf")
    with pytest.raises(InputError, match="holds NaN or infinite values"):
        compress(m, input_shape=(1, 3, 8, 8), prune=0.5)
