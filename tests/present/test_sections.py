"""A pass's Section carries data, never text: the summary lines are made in costlab.present."""
from __future__ import annotations

import dataclasses

from costlab.api import analyze
from costlab.present.latency import bound_line, latency_lines
from costlab.present.report import report_text
from costlab.report import Section


def test_section_has_no_text_fields():
    assert [f.name for f in dataclasses.fields(Section)] == ["key", "data", "values", "notes"]


def test_latency_summary_is_made_from_the_section_data():
    r = analyze("lenet5", device="gpu-h200", runtime="cudagraph")
    sec = r.sections["latency"]
    info = sec.data["latency"]
    lines = latency_lines(sec.data, r.totals["latency_ms"])
    assert lines[0] == f"latency     {r.totals['latency_ms']:.3f} ms (gpu-h200, cudagraph)"
    assert lines[1] == bound_line(info["bound"], "cudagraph") and lines[1].startswith("bound       device (CUDA graph")
    text = report_text(r, "table")
    assert all(line in text.splitlines() for line in lines)
    per_class = analyze("lenet5", device="arm")
    assert latency_lines(per_class.sections["latency"].data, per_class.totals["latency_ms"]) == [
        f"latency     {per_class.totals['latency_ms']:.3f} ms (arm-sd810)"]


def test_guidelines_trailer_is_made_from_the_section_data():
    r = analyze("shufflenet_v1", guidelines=True)
    sec = r.sections["guidelines"]
    assert sec.values["cost"] == "mac_bytes" and sec.values["verdict"].startswith(("violates", "no guideline"))
    last = report_text(r, "table").rstrip("\n").splitlines()[-1]
    assert last.startswith(f"guidelines  {sec.values['verdict']}: G1 ") and last.endswith("lists the findings)")
    assert "guidelines" not in r.to_dict() or isinstance(r.to_dict()["guidelines"], dict)
    md = report_text(r, "markdown").rstrip("\n").splitlines()[-1]
    assert md == last
