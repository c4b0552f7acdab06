"""Compression cost models: pruning (Han et al. 2015), Deep Compression (sparse storage,
weight sharing, Huffman coding; Han, Mao, Dally 2016) and binarization (XNOR-Net,
Rastegari et al. 2016).

>>> from costlab.compress import compress
>>> r = compress("alexnet", prune_table="han2015", bits="conv=8,fc=5", index_bits=4, huffman=True)
>>> r.totals["dense_bytes"], r.totals["compressed_bytes"], r.totals["ratio"]

The result type (:class:`CompressionReport`, :mod:`.result`) imports nothing else; the
pipeline and the formulas load on first use (PEP 562), so presentation imports the result
without running the package.
"""
from .result import CompressionReport

__all__ = ['CompressionReport', 'compress', 'load_weights', 'binary_layer_cost', 'xnor_speedup', 'code_lengths', 'coded_bits', 'entropy_bits', 'dropout_adjust', 'keep_count', 'magnitude_prune', 'kmeans_1d', 'weight_sharing_ratio', 'csr_numbers', 'encode_relative', 'relative_index']


def __getattr__(name: str):
    """The pipeline (:mod:`.api`) and the formula modules' names, loaded on first use."""
    if name in ("compress", "load_weights"):
        from . import api as module
    elif name in ("binary_layer_cost", "xnor_speedup"):
        from . import binarize as module
    elif name in ("code_lengths", "coded_bits", "entropy_bits"):
        from . import huffman as module
    elif name in ("dropout_adjust", "keep_count", "magnitude_prune"):
        from . import pruning as module
    elif name in ("kmeans_1d", "weight_sharing_ratio"):
        from . import quantize as module
    elif name in ("csr_numbers", "encode_relative", "relative_index"):
        from . import storage as module
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(module, name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
