"""G3/G4 findings under a GPU host/device profile say which clock their ops cost (issue 12:
on a GPU, eager element-wise and fragmentation costs are mostly launch counts)."""
from __future__ import annotations

import re

import costlab


def _g4(report, where_prefix):
    return next(f for f in report.to_dict()["findings"] if f["guideline"] == "G4" and f["where"].startswith(where_prefix))


def test_batch_1_element_wise_ops_are_launch_bound():
    r = costlab.analyze("shufflenet_v2", device="gpu-h200", guidelines=True)
    f = _g4(r, "batch_norm")
    m = re.search(r"On the GPU: (\d+) ops dispatched, ([\d.]+) ms host vs ([\d.]+) ms device: launch-bound", f["advice"])
    assert m and int(m.group(1)) == int(f["where"].split("x")[-1]) and float(m.group(2)) > float(m.group(3))
    layers = r.layers[r.layers["findings"].str.contains("G4", na=False) & (r.layers["op"] == "batch_norm")]
    assert float(m.group(2)) == float(f"{layers['host_ms'].sum():.3g}")


def test_large_batch_is_device_bound_and_cpu_profiles_say_nothing():
    r = costlab.analyze("vgg16", device="gpu-h200", guidelines=True, batch=64)
    assert "device-bound: fewer bytes or MACs" in _g4(r, "relu")["advice"]
    r = costlab.analyze("shufflenet_v2", device="arm", guidelines=True)
    assert all("On the GPU" not in f["advice"] for f in r.to_dict()["findings"])
