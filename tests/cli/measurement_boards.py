"""Shared helpers of the CLI tests (any test package imports them): run a command, and write a board's measurement file from
the FBNet space's published latencies."""
from __future__ import annotations

import csv
from pathlib import Path

import costlab
from costlab.cli import main

FBNET = Path(costlab.__file__).parent / "data" / "latency" / "fbnet_space_help_latency.csv"


def run(args, capsys):
    """(exit code, stdout, stderr) of ``costlab ARGS``."""
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def fbnet_archs(n: int) -> list[str]:
    return [r["arch_str"] for r in list(csv.DictReader(FBNET.open()))[:n]]


def board(tmp_path, latencies, name="board.csv") -> Path:
    """A measurement file of the first FBNet architectures with the given latencies (ms)."""
    p = tmp_path / name
    with p.open("w") as f:
        f.write("spec,latency_ms\n")
        for a, ms in zip(fbnet_archs(len(latencies)), latencies):
            f.write(f"\"fbnet:arch={a}\",{ms}\n")
    return p


def raspi4_board(tmp_path, n=30, name="board.csv") -> Path:
    """A measurement file of the first ``n`` FBNet architectures as measured on a Raspberry Pi 4."""
    rows = list(csv.DictReader(FBNET.open()))[:n]
    return board(tmp_path, [r["raspi4"] for r in rows], name)
