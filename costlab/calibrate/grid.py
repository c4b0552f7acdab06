"""The micro-benchmark grid of a profiling run and what every sample of it is.

``default_grid`` lists the (spec, input_shape) pairs ``costlab profile`` measures (ops,
blocks and a few networks, at each batch size); :func:`default_input_shape`,
:func:`family_of` and :func:`granularity` describe a sample. Shared by the CPU harness
(:mod:`costlab.calibrate.measure`) and the CUDA one (:mod:`costlab.calibrate.measure_cuda`).
"""
from __future__ import annotations

from typing import Sequence

from ..errors import MeasureError


def default_input_shape(spec: str, batch: int = 1, resolution: int | None = None) -> tuple[int, ...]:
    from ..zoo.registry import parse_spec

    entry, _ = parse_spec(spec)
    return (batch,) + tuple(entry.default_input_shape(resolution)[1:])


def family_of(spec: str) -> str:
    """The zoo entry's family; a model file is a family of its own (its file name)."""
    import os

    from ..frontends import is_file_spec
    from ..zoo.registry import parse_spec

    if is_file_spec(spec):
        return os.path.basename(spec.strip())
    return parse_spec(spec)[0].family


def granularity(spec: str) -> str:
    from ..frontends import is_file_spec
    from ..zoo.micro import granularity_of

    return "network" if is_file_spec(spec) else granularity_of(spec)


# -- the default grid ----------------------------------------------------------------------------
#
# Stage points of the zoo (side, channels): MobileNet v1/v2, ShuffleNet v1/v2, ResNet,
# SqueezeNet, GoogLeNet/Inception, VGG, AlexNet, CSPNet, Xception. Each op class gets shapes
# from the stages where the zoo uses it, including G1 (c1 != c2) and G2 (groups) variants.

def _conv(side, cin, cout, k=1, stride=1, groups=1, kw=0, bias=0):
    knobs = f"cin={cin},cout={cout},k={k},stride={stride},groups={groups}"
    if kw:
        knobs += f",kw={kw}"
    if bias:
        knobs += ",bias=1"
    return (f"micro_conv:{knobs}", (cin, side, side))


def _act_after(conv: tuple, act: str) -> tuple:
    spec, shape = conv
    return (f"{spec},act={act}", shape)


def _op(name, side, c, **knobs):
    extra = "".join(f",{k}={v}" for k, v in knobs.items())
    return (f"micro_{name}:c={c}{extra}", (c, side, side))


def _grid_convs() -> list[tuple[str, tuple[int, ...]]]:
    g: list = []
    # pointwise 1x1 (MobileNet, ShuffleNet v2, ResNet bottlenecks, SqueezeNet, Inception)
    g += [_conv(112, 32, 64), _conv(56, 64, 64), _conv(56, 64, 128), _conv(56, 128, 128),
          _conv(28, 128, 256), _conv(28, 256, 256), _conv(14, 256, 512), _conv(14, 512, 512),
          _conv(7, 512, 1024), _conv(7, 1024, 1024),
          _conv(56, 24, 144), _conv(56, 144, 24), _conv(28, 32, 192), _conv(28, 192, 32),
          _conv(14, 64, 384), _conv(14, 384, 64), _conv(14, 96, 576), _conv(7, 160, 960),
          _conv(7, 960, 160), _conv(7, 320, 1280),
          _conv(56, 64, 256), _conv(56, 256, 64), _conv(28, 512, 128), _conv(14, 1024, 256),
          _conv(7, 512, 2048), _conv(7, 2048, 512), _conv(56, 256, 512, stride=2),
          _conv(28, 116, 116), _conv(14, 232, 232), _conv(7, 464, 1024),
          _conv(56, 128, 16), _conv(56, 16, 64), _conv(28, 256, 32), _conv(13, 64, 256),
          _conv(7, 512, 1000, bias=1),
          # thin layers of the x0.25 / x0.5 width variants
          _conv(112, 8, 16), _conv(112, 16, 8), _conv(56, 16, 32), _conv(56, 8, 48), _conv(56, 48, 8),
          _conv(56, 32, 32), _conv(28, 16, 96), _conv(28, 64, 64), _conv(28, 24, 24), _conv(14, 128, 128),
          _conv(14, 48, 48), _conv(7, 256, 256), _conv(7, 96, 96), _conv(7, 192, 1024)]
    # dense k x k
    g += [_conv(224, 3, 32, 3, 2), _conv(224, 3, 24, 3, 2), _conv(224, 3, 64, 7, 2),
          _conv(224, 3, 64, 11, 4), _conv(56, 64, 64, 3), _conv(28, 128, 128, 3),
          _conv(14, 256, 256, 3), _conv(7, 512, 512, 3), _conv(56, 128, 128, 3, 2),
          _conv(112, 64, 64, 3), _conv(56, 256, 256, 3), _conv(28, 512, 512, 3),
          _conv(28, 96, 128, 3), _conv(28, 16, 32, 5), _conv(14, 32, 64, 5), _conv(27, 64, 192, 5),
          _conv(17, 128, 128, 1, kw=7), _conv(17, 192, 192, 7, kw=1), _conv(56, 16, 64, 3),
          _conv(147, 32, 64, 3)]
    # depthwise 3x3
    g += [_conv(112, 32, 32, 3, 1, 32), _conv(112, 96, 96, 3, 2, 96), _conv(112, 64, 64, 3, 2, 64),
          _conv(56, 144, 144, 3, 1, 144), _conv(56, 128, 128, 3, 1, 128), _conv(56, 144, 144, 3, 2, 144),
          _conv(28, 192, 192, 3, 1, 192), _conv(28, 256, 256, 3, 1, 256), _conv(28, 116, 116, 3, 2, 116),
          _conv(14, 384, 384, 3, 1, 384), _conv(14, 512, 512, 3, 1, 512), _conv(14, 576, 576, 3, 2, 576),
          _conv(7, 960, 960, 3, 1, 960), _conv(7, 1024, 1024, 3, 1, 1024), _conv(19, 728, 728, 3, 1, 728),
          _conv(28, 58, 58, 3, 1, 58), _conv(14, 116, 116, 3, 1, 116),
          # channel counts off a runtime's block (ShuffleNet v2 x1 / x2 stage 2: 58, 122 channels;
          # the conv_dw_offblock class under a block:N rule)
          _conv(56, 58, 58, 3, 2, 58), _conv(28, 122, 122, 3, 1, 122),
          _conv(112, 8, 8, 3, 1, 8), _conv(112, 16, 16, 3, 2, 16), _conv(56, 32, 32, 3, 1, 32),
          _conv(56, 48, 48, 3, 2, 48), _conv(28, 64, 64, 3, 1, 64), _conv(14, 128, 128, 3, 1, 128),
          _conv(14, 24, 24, 3, 1, 24), _conv(7, 256, 256, 3, 1, 256), _conv(7, 96, 96, 3, 1, 96)]
    # depthwise 5x5 and 7x7 (ProxylessNAS, FBNet, MnasNet, EfficientNet)
    g += [_conv(56, 72, 72, 5, 2, 72), _conv(28, 120, 120, 5, 1, 120), _conv(14, 480, 480, 5, 1, 480),
          _conv(28, 96, 96, 7, 1, 96), _conv(14, 240, 240, 7, 1, 240), _conv(7, 576, 576, 7, 1, 576)]
    # group convs (ShuffleNet v1 g=3/8 1x1, ResNeXt g=32 3x3, AlexNet g=2)
    g += [_conv(28, 240, 60, 1, 1, 3), _conv(28, 60, 240, 1, 1, 3), _conv(14, 480, 120, 1, 1, 3),
          _conv(14, 120, 480, 1, 1, 3), _conv(7, 960, 240, 1, 1, 3), _conv(28, 384, 96, 1, 1, 8),
          _conv(14, 768, 192, 1, 1, 8), _conv(64, 128, 128, 3, 1, 32), _conv(32, 256, 256, 3, 1, 32),
          _conv(16, 512, 512, 3, 1, 32), _conv(13, 384, 384, 3, 1, 2), _conv(27, 96, 256, 5, 1, 2),
          _conv(28, 120, 30, 1, 1, 3), _conv(28, 30, 120, 1, 1, 3), _conv(14, 240, 60, 1, 1, 3),
          _conv(7, 480, 120, 1, 1, 3)]
    return g


def _grid_ops(small: bool) -> list[tuple[str, tuple[int, ...]]]:
    g = _grid_convs()
    # linear (classifiers; VGG / AlexNet / LeNet fully connected layers)
    g += [("micro_linear:cin=1024,cout=1000", (1024, 1, 1)), ("micro_linear:cin=1280,cout=1000", (1280, 1, 1)),
          ("micro_linear:cin=2048,cout=1000", (2048, 1, 1)), ("micro_linear:cin=1024,cout=1000,bias=0", (1024, 1, 1)),
          ("micro_linear:cin=4096,cout=4096", (4096, 1, 1)), ("micro_linear:cin=25088,cout=4096", (25088, 1, 1)),
          ("micro_linear:cin=9216,cout=4096", (9216, 1, 1)), ("micro_linear:cin=4096,cout=1000", (4096, 1, 1)),
          ("micro_linear:cin=784,cout=300", (784, 1, 1))]
    # pooling
    g += [_op("pool", 112, 64, kind="max", k=3, stride=2, pad=1), _op("pool", 224, 64, kind="max", k=2, stride=2, pad=0),
          _op("pool", 28, 512, kind="max", k=2, stride=2, pad=0), _op("pool", 56, 192, kind="max", k=3, stride=2, pad=1),
          _op("pool", 56, 24, kind="avg", k=3, stride=2, pad=1), _op("pool", 35, 192, kind="avg", k=3, stride=1, pad=1),
          _op("pool", 7, 1024, kind="gap"), _op("pool", 7, 2048, kind="gap"), _op("pool", 7, 1280, kind="gap"),
          _op("pool", 7, 512, kind="adaptive", out=7)]
    # batch norm, activations, add (element-wise)
    for side, c in ((112, 32), (56, 64), (56, 144), (28, 192), (14, 384), (7, 960), (56, 256), (14, 1024),
                    (112, 8), (56, 24), (28, 48), (14, 96), (7, 256)):
        g.append(_op("bn", side, c))
    for side, c in ((112, 64), (56, 128), (28, 256), (14, 512), (7, 1024), (56, 256)):
        g.append(_op("act", side, c, act="relu"))
    for side, c in ((112, 32), (56, 144), (14, 576)):
        g.append(_op("act", side, c, act="relu6"))
    for side, c in ((64, 64), (32, 256)):
        g.append(_op("act", side, c, act="leaky", inplace=0))
    g.append(_op("act", 28, 240, act="relu", inplace=0))
    # the activations and squeeze-excite convs of later mobile networks (MobileNet v3,
    # EfficientNet, MnasNet: hardswish, SiLU, sigmoid gates, 1x1 convs on a 1x1 map)
    g += [_op("act", 56, 48, act="hardswish", inplace=0), _op("act", 14, 240, act="hardswish", inplace=0),
          _op("act", 28, 96, act="silu", inplace=0), _op("act", 7, 480, act="sigmoid", inplace=0),
          _conv(1, 96, 24, bias=1), _conv(1, 24, 96, bias=1)]
    # a conv with its SiLU: a runtime that fuses it (OpenVINO's post-op) evaluates the exp inside
    # the conv, at a rate a standalone SiLU does not show (the fused_exp latency class)
    g += [_act_after(_conv(56, 24, 144), "silu"), _act_after(_conv(56, 144, 144, 3, 1, 144), "silu"),
          _act_after(_conv(14, 96, 384), "silu")]
    for side, c in ((112, 16), (56, 48), (28, 64), (7, 128)):
        g.append(_op("act", side, c, act="relu6"))
    for side, c in ((56, 48), (56, 512), (28, 64), (28, 1024), (14, 192), (7, 4096), (28, 32), (14, 128), (7, 480)):
        g.append(_op("add", side, c))
    # data movement: concat, channel shuffle; LRN
    g += [_op("cat", 56, 128, parts=2), _op("cat", 28, 232, parts=2), _op("cat", 14, 464, parts=2),
          _op("cat", 28, 256, parts=4), _op("cat", 7, 1024, parts=4),
          ("micro_cat:c=128,parts=2", (128, 28, 28))]
    # Channel split (torch.chunk) and the official ShuffleNet v2 shuffle+split
    # (micro_shuffle:style=even_odd) are views: costlab counts them free, a sample of them
    # alone has no features to calibrate, and their real cost (dispatch, the strided read by
    # the next conv) is inside the ShuffleNet v2 block samples below.
    g += [_op("shuffle", 28, 240, groups=3), _op("shuffle", 14, 480, groups=3), _op("shuffle", 28, 384, groups=8),
          _op("shuffle", 56, 116, groups=2), _op("shuffle", 14, 232, groups=2)]
    g += [_op("lrn", 56, 64), _op("lrn", 27, 96), _op("lrn", 56, 192)]
    g += _grid_small_inputs()
    if small:
        g = g[::6]
    return g


def _grid_small_inputs() -> list[tuple[str, tuple[int, ...]]]:
    """Ops at MNIST / CIFAR scale (sides 8-32, 1-64 channels; generic sizes, not copies of any
    zoo network's layers). Without them every op sample of a class is a 224-input stage, so a
    class's per-kernel constant (``ms_per_op``) is set by nothing small: a fit free to use it as
    a per-network offset did (OpenVINO's max-pool constant came out at 0.27 ms per kernel, the
    pools themselves run in ~5 us inside LeNet-5), and small-input networks were over-predicted
    several times over."""
    g = [_conv(32, 3, 16, 3), _conv(32, 16, 16, 3), _conv(16, 32, 32, 3), _conv(8, 64, 64, 3),
         _conv(28, 1, 8, 5), _conv(12, 8, 16, 5), _conv(32, 16, 32), _conv(8, 64, 128), _conv(16, 32, 32, 3, 1, 32)]
    g += [_op("pool", 24, 8, kind="max", k=2, stride=2, pad=0), _op("pool", 8, 16, kind="max", k=2, stride=2, pad=0),
          _op("pool", 32, 16, kind="max", k=3, stride=2, pad=1), _op("pool", 16, 32, kind="avg", k=3, stride=1, pad=1),
          _op("pool", 8, 64, kind="gap")]
    g += [("micro_linear:cin=256,cout=64", (256, 1, 1)), ("micro_linear:cin=128,cout=32", (128, 1, 1)),
          ("micro_linear:cin=64,cout=10", (64, 1, 1))]
    g += [_op("bn", 32, 16), _op("bn", 8, 64), _op("act", 32, 16, act="relu"), _op("act", 8, 64, act="relu"),
          _op("add", 32, 16), _op("add", 8, 64)]
    return g


def _grid_blocks(small: bool) -> list[tuple[str, tuple[int, ...]]]:
    g = [("micro_block_dwsep:c=64,cout=128,stride=1", (64, 112, 112)),
         ("micro_block_dwsep:c=32,cout=64,stride=1", (32, 56, 56)),
         ("micro_block_mbv2:c=16,cout=16,stride=1,expand=6", (16, 28, 28)),
         ("micro_block_sv1:c=120,groups=3,stride=1", (120, 28, 28)),
         ("micro_block_sv2:c=48,stride=1", (48, 28, 28)),
         ("micro_block_dwsep:c=256,cout=256,stride=1", (256, 28, 28)),
         ("micro_block_dwsep:c=512,cout=512,stride=1", (512, 14, 14)),
         ("micro_block_mbv2:c=24,cout=24,stride=1,expand=6", (24, 56, 56)),
         ("micro_block_mbv2:c=32,cout=32,stride=1,expand=6", (32, 28, 28)),
         ("micro_block_mbv2:c=32,cout=64,stride=2,expand=6", (32, 28, 28)),
         ("micro_block_mbv2:c=96,cout=96,stride=1,expand=6", (96, 14, 14)),
         ("micro_block_sv1:c=240,groups=3,stride=1", (240, 28, 28)),
         ("micro_block_sv1:c=480,groups=3,stride=1", (480, 14, 14)),
         ("micro_block_sv2:c=116,stride=1", (116, 28, 28)),
         ("micro_block_sv2:c=232,stride=1", (232, 14, 14)),
         ("micro_block_sv2:c=116,cout=232,stride=2", (116, 28, 28)),
         ("micro_block_res:c=64,planes=64,stride=1,kind=basic", (64, 56, 56)),
         ("micro_block_res:c=128,planes=128,stride=1,kind=basic", (128, 28, 28)),
         ("micro_block_res:c=256,planes=64,stride=1,kind=bottleneck", (256, 56, 56)),
         ("micro_block_res:c=1024,planes=256,stride=1,kind=bottleneck", (1024, 14, 14))]
    return g[::5] if small else g


# Network-level samples of a measured profile: zoo variants that are *not* among the
# networks ``costlab validate --measure`` times (costlab.calibrate.validate.MEASURE_SPECS), so
# those stay held out of calibration.
NETWORK_SAMPLES = ("mobilenet_v1:width=0.75", "mobilenet_v2:width=0.75", "mobilenet_v2:width=1.4",
                   "shufflenet_v1:groups=8", "shufflenet_v1:groups=2", "shufflenet_v2:width=2.0",
                   "squeezenet1_0", "resnet34", "resnet50", "alexnet", "vgg11")


def default_grid(*, batches: Sequence[int] = (1,), grid: str = "default", networks: bool = True
                 ) -> list[tuple[str, tuple[int, ...]]]:
    """(spec, input_shape) pairs of a profiling run: ops, blocks and (optionally) a few
    networks, at each batch size. ``grid='small'`` keeps every 6th op / 5th block (tests)."""
    if grid not in ("default", "small"):
        raise MeasureError(f"unknown grid {grid!r}; use default or small")
    small = grid == "small"
    base = _grid_ops(small) + _grid_blocks(small)
    out = []
    for b in batches:
        out += [(s, (int(b),) + tuple(shp)) for s, shp in base]
        if networks:
            nets = NETWORK_SAMPLES[:1] if small else NETWORK_SAMPLES
            out += [(s, default_input_shape(s, int(b))) for s in nets]
    return out
