"""``costlab reproduce cspnet``: CSPNet (Wang et al., arXiv:1911.11929) — parameters and darknet
BFLOPs of the ImageNet backbones in the official repository's README, paper vs costlab."""
from __future__ import annotations

from pathlib import Path

from . import register_reproduction
from .devices import ARM, GPU, device
from .papers import (Agreement, cost_table, count_rows, device_notes, header, md_table, summary_lines,
                     summary_return, undeclared_rows, wide_section, write_report)

NAME = "cspnet"
PAPER = ("Wang, Liao, Wu, Chen, Hsieh, Yeh 2020, *CSPNet: A New Backbone that can Enhance Learning Capability "
         "of CNN*, CVPRW 2020, arXiv:1911.11929; numbers from WongKinYiu/CrossStagePartialNetworks README.md")
SOURCE = "WongKinYiu/CrossStagePartialNetworks"
ZOO = (("CSPResNet-50", "cspresnet50"), ("CSPResNeXt-50", "cspresnext50"), ("CSPDarkNet-53", "cspdarknet53"))


@register_reproduction(NAME, "CSPNet backbones: params and darknet BFLOPs at 256x256 (reports/cspnet.md)", order=38)
def reproduce_cspnet(out_dir: Path, *, measure: bool = False) -> str:
    arm, gpu = device(ARM), device(GPU)
    devs = [(arm, "ARM ms (predicted)"), (gpu, f"GPU ms, batch {gpu.batch} (predicted)")]
    parts = header(NAME, "CSPNet: README figures vs costlab", PAPER)
    parts += ["Device profiles:", ""] + device_notes(arm, gpu)
    parts += ["The README's ImageNet numbers are at 256x256 (`cfg/*.cfg` width/height 256). darknet's \"BFLOPs\"",
              "are compared as 2 x MACs, a convention no stored source confirms (CONVENTIONS.md section 7). A diff",
              "over 1% is **bold**; `(p)`: equal to the README at the precision it printed.", ""]
    summary: list[Agreement] = []
    body: list[str] = []
    df = count_rows(lambda c: SOURCE in c.source)
    lines, a = wide_section("CSP backbones in the zoo", df, "README (params, BFLOPs)", devs)
    body += lines
    summary.append(a)
    body += ["## What the README does not print: memory traffic and predicted latency", "",
             cost_table([(label, spec, 256) for label, spec in ZOO], devs), ""]
    rest = undeclared_rows(lambda r: SOURCE in r["source"])
    if not rest.empty:
        body += ["## Rows not compared here", "",
                 "Baselines and CSP variants the zoo does not build (darknet cfgs of ResNet-50, ResNeXt-50,",
                 "DarkNet-53, DenseNet-201, PeleeNet, MobileNetV2, EfficientNet-B0, and the 'Elastic' variants):", "",
                 md_table(rest, list(rest.columns)), ""]
    parts += summary_lines(summary) + body
    write_report(out_dir, NAME, parts)
    return summary_return(summary)
