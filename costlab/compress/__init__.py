"""Compression cost models: pruning (Han et al. 2015), Deep Compression (sparse storage,
weight sharing, Huffman coding; Han, Mao, Dally 2016) and binarization (XNOR-Net,
Rastegari et al. 2016).

>>> from costlab.compress import compress
>>> r = compress("alexnet", prune_table="han2015", bits="conv=8,fc=5", index_bits=4, huffman=True)
>>> r.totals["dense_bytes"], r.totals["compressed_bytes"], r.totals["ratio"]
"""
from .api import CompressionReport, compress, load_weights
from .binarize import binary_layer_cost, xnor_speedup
from .huffman import code_lengths, coded_bits, entropy_bits
from .pruning import dropout_adjust, keep_count, magnitude_prune
from .quantize import kmeans_1d, weight_sharing_ratio
from .storage import csr_numbers, encode_relative, relative_index

__all__ = ['CompressionReport', 'compress', 'load_weights', 'binary_layer_cost', 'xnor_speedup', 'code_lengths', 'coded_bits', 'entropy_bits', 'dropout_adjust', 'keep_count', 'magnitude_prune', 'kmeans_1d', 'weight_sharing_ratio', 'csr_numbers', 'encode_relative', 'relative_index']
