"""Integer inputs (token ids): their dtype is kept and shown, and a lookup reads only the
rows it gathers."""
from __future__ import annotations

import csv

import torch.nn as nn

import costlab
from tests.cli.measurement_boards import run


class _Tokens(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(100, 16)
        self.fc = nn.Linear(16, 4)

    def forward(self, ids):
        return self.fc(self.emb(ids)).mean(1)


def test_advise_and_compare_name_the_token_inputs_dtype(tmp_path, capsys):
    # the header said '(input 1x32, float32)' for token ids: the int64 input was lost
    from costlab.advise import advise
    from costlab.present.advice import advice_text

    a = advise(_Tokens(), "arm", input_shape="1x32:int64")
    assert a.to_dict()["input_dtypes"] == ["int64"]
    assert "(input 1x32:int64, float32)" in advice_text(a.to_dict(), "table")
    f = tmp_path / "tok.py"
    f.write_text("import torch.nn as nn\n"
                 "class T(nn.Module):\n"
                 "    def __init__(s):\n"
                 "        super().__init__(); s.e = nn.Embedding(100, 8)\n"
                 "    def forward(s, ids, x):\n"
                 "        return s.e(ids).sum(1) + x\n"
                 "def build():\n"
                 "    return T()\n")
    code, out, err = run(["compare", f"{f}:build", "--input-shape", "1x32:int64,1x8", "--format", "csv"], capsys)
    assert code == 0, err
    assert next(csv.DictReader(out.splitlines()))["input"] == "1x32:int64,1x8"   # every input, not the first


class _Emb(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(1000, 64)

    def forward(self, x):
        return self.emb(x)


def test_embedding_reads_the_rows_it_gathers_and_the_input_dtype_is_reported():
    r = costlab.analyze(_Emb(), input_shape="1x16:int64")
    row = r.layers.iloc[0]
    assert row["op"] == "gather"
    assert row["mac_bytes"] == 16 * 64 * 4 + 16 * 8 + 16 * 64 * 4     # rows read + ids + rows written
    assert r.to_dict()["input_dtypes"] == ["int64"]
    from costlab.present.report import report_text

    assert "1x16:int64" in report_text(r, "table")
