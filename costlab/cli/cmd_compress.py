"""``costlab compress``: size (and compute) after pruning, weight sharing, Huffman coding
or binarization; a thin wrapper over :func:`costlab.compress.compress`."""
from __future__ import annotations

import click

from ..present.output import write_output
from ..present.tables import FORMATS
from .options import check_output_path, user_input


@click.command("compress")
@click.argument("model")
@click.option("--prune", default=None, metavar="RATE",
              help="fraction of weights removed by magnitude: 0.9, conv=0.65,fc=0.91, or LAYER=RATE")
@click.option("--prune-table", default=None, metavar="TABLE",
              help="a paper's per-layer rates: han2015 (lenet_300_100, lenet5, alexnet, vgg16)")
@click.option("--bits", default=None, metavar="BITS",
              help="bits per shared weight (k = 2^bits k-means clusters): 6, or conv=8,fc=5")
@click.option("--index-bits", default=None, metavar="BITS",
              help="relative sparse index bits [default: conv=8,fc=5]")
@click.option("--huffman", is_flag=True, help="Huffman-code quantized weights and index differences")
@click.option("--binarize", default=None, metavar="WHAT",
              help="'weights' (binary-weight network) or 'weights,inputs' (XNOR-Net)")
@click.option("--keep-full", default="first,last", show_default=True, metavar="LAYERS",
              help="layers kept in full precision with --binarize: first, last, layer paths, or none")
@click.option("--weights", "weights_file", default=None, metavar="FILE",
              help="state dict to compress (torch.load(weights_only=True)); default: initialised weights")
@click.option("--seed", type=int, default=0, show_default=True, help="seed for initial weights and sampling")
@click.option("--fit-sample", type=click.IntRange(min=1000), default=2_000_000, show_default=True,
              help="k-means fits on at most this many weights per layer (seeded sample), then assigns all")
@click.option("--resolution", type=int, default=None, help="input side length (default: the paper's)")
@click.option("--input-shape", default=None, help="full input shape, e.g. 1x3x224x224")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, callback=check_output_path,
              help="write to FILE (atomically) instead of stdout")
def compress_cmd(model, prune, prune_table, bits, index_bits, huffman, binarize, keep_full, weights_file,
                 seed, fit_sample, resolution, input_shape, fmt, output):
    """Model size after pruning (Han et al. 2015), Deep Compression (sparse relative index,
    k-means weight sharing, Huffman coding) or binarization (XNOR-Net), per layer and stage.

    \b
    costlab compress alexnet --prune conv=0.65,fc=0.91 --bits conv=8,fc=5 --huffman
    costlab compress vgg16 --prune-table han2015 --index-bits conv=8,fc=5
    costlab compress resnet18 --binarize weights,inputs
    costlab compress my_net.py:build --weights ckpt.pt --prune 0.9 --bits 4 --huffman
    """
    from ..compress import compress
    from ..present.compress import compression_text
    from ..spec import resolve

    if input_shape is None and resolution is None:
        resolution = user_input(resolve(model), input_shape, resolution)
    report = compress(model, prune=prune, prune_table=prune_table, bits=bits, index_bits=index_bits,
                      huffman=huffman, binarize=binarize, keep_full=keep_full.split(","),
                      weights=weights_file, seed=seed, input_shape=input_shape, resolution=resolution,
                      fit_sample=fit_sample, progress=True)
    write_output(compression_text(report, fmt), output)


