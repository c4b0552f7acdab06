"""The papers' per-layer tables, as data (the configuration the reproductions run).

Sources and how they were checked
---------------------------------
``HAN2015``: Han, Pool, Tran, Dally 2015, "Learning both Weights and Connections for
Efficient Neural Networks", arXiv:1506.02626, Tables 2 (LeNet-300-100), 3 (LeNet-5),
4 (AlexNet) and 5 (VGG-16), column ``Weights%`` (share of a layer's weights left after
pruning) and ``Act%`` (share of non-zero activations, measured by the authors on data).
Read in a stored bilingual transcription of the paper (transcription ref 38149825347);
the LeNet rows also agree with the lecture in ``shared/seeds/``. Status: VERIFIED against
that transcription, not against the PDF.

``DEEP_COMPRESSION``: Han, Mao, Dally 2016, "Deep Compression", arXiv:1510.00149,
Tables 1-5: per layer ``Weights% (P)``, weight bits after quantization ``(P+Q)`` and after
Huffman ``(P+Q+H)``, index bits ``(P+Q)`` and ``(P+Q+H)``, compression rate ``(P+Q)``
and ``(P+Q+H)`` (a layer's compressed size over its 32-bit weights, "including the
overhead of the codebook and sparse indexes", Sec. 5.1). Read in two stored
transcriptions (refs 57055558697 and 56897985912; the second shifts the ``#Weights``
column of VGG-16 rows conv5_3..fc8 by one row, the first does not). Status: VERIFIED
against those transcriptions. Note what the tables say that the text does not: AlexNet's
relative index is 4 bits for every layer ("The relative sparse index is encoded with 4
bits", Sec. 5.2), VGG-16's and both LeNets' are 5 bits; the 8 (conv) / 5 (fc) index bits
of Sec. 2 are the defaults of ``costlab compress``, not what the tables used.

Module paths are the zoo's (``costlab zoo``); Han's AlexNet ``fc1..fc3`` are the zoo's
``classifier.fc6..fc8`` (the Caffe names).
"""
from __future__ import annotations

HAN2015_SOURCE = ("Han et al. 2015, arXiv:1506.02626, Tables 2-5 (Weights%), read in a stored "
                  "transcription (ref 38149825347)")
DC_SOURCE = ("Han, Mao, Dally 2016 (Deep Compression), arXiv:1510.00149, Tables 1-5, read in "
             "stored transcriptions (refs 57055558697, 56897985912)")

# zoo spec (canonical name) -> module path -> (keep fraction = Weights%, Act% of the layer's output)
HAN2015: dict[str, dict[str, tuple[float, float]]] = {
    "lenet_300_100": {            # Table 2
        "classifier.fc1": (0.08, 0.38),
        "classifier.fc2": (0.09, 0.65),
        "classifier.fc3": (0.26, 1.00),
    },
    "lenet5": {                   # Table 3
        "features.conv1": (0.66, 0.82),
        "features.conv2": (0.12, 0.72),
        "classifier.fc1": (0.08, 0.55),
        "classifier.fc2": (0.19, 1.00),
    },
    "alexnet": {                  # Table 4 (fc1..fc3 = fc6..fc8)
        "features.conv1": (0.84, 0.88),
        "features.conv2": (0.38, 0.52),
        "features.conv3": (0.35, 0.37),
        "features.conv4": (0.37, 0.40),
        "features.conv5": (0.37, 0.34),
        "classifier.fc6": (0.09, 0.36),
        "classifier.fc7": (0.09, 0.40),
        "classifier.fc8": (0.25, 1.00),
    },
    "vgg16": {                    # Table 5
        "features.conv1_1": (0.58, 0.53),
        "features.conv1_2": (0.22, 0.89),
        "features.conv2_1": (0.34, 0.80),
        "features.conv2_2": (0.36, 0.81),
        "features.conv3_1": (0.53, 0.68),
        "features.conv3_2": (0.24, 0.70),
        "features.conv3_3": (0.42, 0.64),
        "features.conv4_1": (0.32, 0.51),
        "features.conv4_2": (0.27, 0.45),
        "features.conv4_3": (0.34, 0.34),
        "features.conv5_1": (0.35, 0.32),
        "features.conv5_2": (0.29, 0.29),
        "features.conv5_3": (0.36, 0.19),
        "classifier.fc6": (0.04, 0.38),
        "classifier.fc7": (0.04, 0.42),
        "classifier.fc8": (0.23, 1.00),
    },
}

# The same tables' per-layer FLOP% column (share of FLOPs left: Weights% x Act% of the
# layer's input), and their totals: {spec: {path: flop%}, ...}
HAN2015_FLOP_PCT: dict[str, dict[str, float]] = {
    "lenet_300_100": {"classifier.fc1": 0.08, "classifier.fc2": 0.04, "classifier.fc3": 0.17},
    "lenet5": {"features.conv1": 0.66, "features.conv2": 0.10, "classifier.fc1": 0.06,
               "classifier.fc2": 0.10},
    "alexnet": {"features.conv1": 0.84, "features.conv2": 0.33, "features.conv3": 0.18,
                "features.conv4": 0.14, "features.conv5": 0.14, "classifier.fc6": 0.03,
                "classifier.fc7": 0.03, "classifier.fc8": 0.10},
    "vgg16": {"features.conv1_1": 0.58, "features.conv1_2": 0.12, "features.conv2_1": 0.30,
              "features.conv2_2": 0.29, "features.conv3_1": 0.43, "features.conv3_2": 0.16,
              "features.conv3_3": 0.29, "features.conv4_1": 0.21, "features.conv4_2": 0.14,
              "features.conv4_3": 0.15, "features.conv5_1": 0.12, "features.conv5_2": 0.09,
              "features.conv5_3": 0.11, "classifier.fc6": 0.01, "classifier.fc7": 0.02,
              "classifier.fc8": 0.09},
}
# Table 1 / abstract: whole-network pruning rates (parameters before -> after).
# Table 1 / abstract: whole-network pruning rates (parameters before -> after); Tables 2-5
# "Total" rows: Weights% and FLOP%.
HAN2015_TOTALS = {
    "lenet_300_100": {"weights_pct": 0.08, "flop_pct": 0.08, "rate": 12, "before": 267e3, "after": 22e3},
    "lenet5": {"weights_pct": 0.08, "flop_pct": 0.16, "rate": 12, "before": 431e3, "after": 36e3},
    "alexnet": {"weights_pct": 0.11, "flop_pct": 0.30, "rate": 9, "before": 61e6, "after": 6.7e6},
    "vgg16": {"weights_pct": 0.075, "flop_pct": 0.21, "rate": 13, "before": 138e6, "after": 10.3e6},
}

# Deep Compression: spec -> settings the tables used, and the per-layer table rows:
#   path: (weights_pct, weight_bits, weight_bits_h, index_bits, index_bits_h, rate_pq, rate_pqh)
DEEP_COMPRESSION: dict[str, dict] = {
    "lenet_300_100": {
        "bits": {"fc": 6}, "index_bits": {"fc": 5},
        "size": ("1070 KB", 1070e3, "27 KB", 27e3, 40),     # Table 1 (decimal KB)
        "total": {"rate_pq": 32, "rate_pqh": 40},
        "layers": {
            "classifier.fc1": (0.08, 6, 4.4, 5, 3.7, 0.031, 0.0232),
            "classifier.fc2": (0.09, 6, 4.4, 5, 4.3, 0.038, 0.0304),
            "classifier.fc3": (0.26, 6, 4.3, 5, 3.2, 0.157, 0.1270),
        },
    },
    "lenet5": {
        "bits": {"conv": 8, "fc": 5}, "index_bits": {"conv": 5, "fc": 5},
        "size": ("1720 KB", 1720e3, "44 KB", 44e3, 39),
        "total": {"rate_pq": 33, "rate_pqh": 39},
        "layers": {
            "features.conv1": (0.66, 8, 7.2, 5, 1.5, 0.785, 0.6745),
            "features.conv2": (0.12, 8, 7.2, 5, 3.9, 0.060, 0.0528),
            "classifier.fc1": (0.08, 5, 4.5, 5, 4.5, 0.027, 0.0245),
            "classifier.fc2": (0.19, 5, 5.2, 5, 3.7, 0.069, 0.0613),
        },
    },
    "alexnet": {
        "bits": {"conv": 8, "fc": 5}, "index_bits": {"conv": 4, "fc": 4},
        "size": ("240 MB", 240e6, "6.9 MB", 6.9e6, 35),
        "total": {"rate_pq": 27, "rate_pqh": 35},
        "layers": {
            "features.conv1": (0.84, 8, 6.3, 4, 1.2, 0.326, 0.2053),
            "features.conv2": (0.38, 8, 5.5, 4, 2.3, 0.145, 0.0943),
            "features.conv3": (0.35, 8, 5.1, 4, 2.6, 0.131, 0.0844),
            "features.conv4": (0.37, 8, 5.2, 4, 2.5, 0.141, 0.0911),
            "features.conv5": (0.37, 8, 5.6, 4, 2.5, 0.140, 0.0943),
            "classifier.fc6": (0.09, 5, 3.9, 4, 3.2, 0.030, 0.0239),
            "classifier.fc7": (0.09, 5, 3.6, 4, 3.7, 0.030, 0.0246),
            "classifier.fc8": (0.25, 5, 4.0, 4, 3.2, 0.073, 0.0585),
        },
    },
    "vgg16": {
        "bits": {"conv": 8, "fc": 5}, "index_bits": {"conv": 5, "fc": 5},
        "size": ("552 MB", 552e6, "11.3 MB", 11.3e6, 49),
        "total": {"rate_pq": 31, "rate_pqh": 49},
        "layers": {
            "features.conv1_1": (0.58, 8, 6.8, 5, 1.7, 0.400, 0.2997),
            "features.conv1_2": (0.22, 8, 6.5, 5, 2.6, 0.098, 0.0699),
            "features.conv2_1": (0.34, 8, 5.6, 5, 2.4, 0.143, 0.0891),
            "features.conv2_2": (0.36, 8, 5.9, 5, 2.3, 0.147, 0.0931),
            "features.conv3_1": (0.53, 8, 4.8, 5, 1.8, 0.217, 0.1115),
            "features.conv3_2": (0.24, 8, 4.6, 5, 2.9, 0.097, 0.0567),
            "features.conv3_3": (0.42, 8, 4.6, 5, 2.2, 0.170, 0.0896),
            "features.conv4_1": (0.32, 8, 4.6, 5, 2.6, 0.131, 0.0729),
            "features.conv4_2": (0.27, 8, 4.2, 5, 2.9, 0.109, 0.0593),
            "features.conv4_3": (0.34, 8, 4.4, 5, 2.5, 0.140, 0.0747),
            "features.conv5_1": (0.35, 8, 4.7, 5, 2.5, 0.143, 0.0800),
            "features.conv5_2": (0.29, 8, 4.6, 5, 2.7, 0.117, 0.0652),
            "features.conv5_3": (0.36, 8, 4.6, 5, 2.3, 0.148, 0.0779),
            "classifier.fc6": (0.04, 5, 3.6, 5, 3.5, 0.016, 0.0110),
            "classifier.fc7": (0.04, 5, 4.0, 5, 4.3, 0.015, 0.0125),
            "classifier.fc8": (0.23, 5, 4.0, 5, 3.4, 0.071, 0.0524),
        },
    },
}

PRUNE_TABLES = {"han2015": (HAN2015, HAN2015_SOURCE)}
