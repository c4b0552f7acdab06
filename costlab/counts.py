"""The counts pass: every traced op through the op registry, into a :class:`Report`."""
from __future__ import annotations

from collections import Counter

from . import ops
from .ir import Graph
from .report import COLUMNS, NUMERIC, Report, Rows, Section


def conventions(dtype: str, trace_mode: str) -> dict[str, str]:
    base = _conventions(dtype, trace_mode)
    if trace_mode in FILE_CONVENTIONS:      # a model file (costlab.frontends): what differs from a trace
        base.update(FILE_CONVENTIONS[trace_mode])
    return base


FILE_CONVENTIONS = {"onnx": {
    "params": "elements of the graph's initializers, each distinct initializer once (Identity nodes of the "
              "legacy exporter's deduplicated tensors followed back); initializers read only as shapes, axes, "
              "pads, bounds or quantisation parameters are not parameters; BN running stats are initializers",
    "bn": "as in the file: folded into the convs when the exporter folded it (eval-mode default), else its own op",
    "trace": "ONNX graph read by costlab.frontends.onnx: shapes from ONNX shape inference at the input given; "
             "constants (Constant, Shape, nodes of constants only) are not ops; Q/DQ pairs fold into int8 ops",
}, "tflite": {
    "params": "elements of the constant tensors read as data (weights, biases), each buffer once; shapes, axes, "
              "paddings and permutations are not parameters",
    "bn": "as in the file: the converter folds batch norm into the convs",
    "activations_fused": "a fused activation (fused_activation_function) is 1 element op per output of the op "
                         "carrying it, with no tensor of its own",
    "layout": "NHWC image tensors shown as NCHW, conv weights as OIHW; a TRANSPOSE is a free view unless a reshape "
              "reading it must copy (as torch's permute), so litert-torch's layout transposes cost nothing",
    "trace": "TFLite flatbuffer read by costlab.frontends.tflite (the file's static shapes, its main subgraph); "
             "quantized tensors keep their integer dtype (int8 bytes in MAC); QUANTIZE / DEQUANTIZE of "
             "activations are ops, of weights constants; a STABLEHLO_REDUCE_WINDOW of one ADD body is a window "
             "sum (avg_pool's count), of one MAXIMUM / MINIMUM body a window max (max_pool's), another body "
             "unsupported",
}}


def _conventions(dtype: str, trace_mode: str) -> dict[str, str]:
    return {
        "macs": "multiply-accumulates of conv, conv-transpose, linear, matmul, bmm, mv, bilinear, "
                "attention (Q K^T and A V) and recurrent cells (gates x hidden x (input + hidden) per step) "
                "(the papers' 'FLOPs' = 'Mult-Adds'); nothing else",
        "flops": "2 x macs",
        "elem_ops": "element operations outside macs: bias 1, batch norm 2, layer/group norm 4, "
                    "activation 1, add/mul 1, max/avg pool per window element, adaptive pool/mean "
                    "per input element, softmax 3, bilinear upsample 4 per output element; "
                    "other reductions 1 per input element (logsumexp 3, norm 2), sort n log2 n and top-k "
                    "n log2 k per row, FFT 5 N log2 n (half for real input); "
                    "cat/copy/pad/nearest upsample/gather/repeat/pixel shuffle 0",
        "mac_bytes": f"memory access cost (ShuffleNet V2 Sec. 2): elements read (inputs and weights) "
                     f"+ elements written (result) x {ops.dtype_bytes(dtype)} bytes ({dtype}); "
                     "views are free; pooling indices not counted",
        "params": "nn.Parameters read by the forward, each shared one once; BN running stats "
                  "are buffers, reported apart (totals.buffers)",
        "activations": "elements of each op's result (views: 0)",
        "layers": "one row per executed op that computes or moves data; views/splits are free "
                  "and omitted (they stay in the IR)",
        "bn": "batch norm is reported as its own op (not folded into the conv)",
        "dropout": "eval mode: dropout is the identity and costs nothing",
        "trace": f"dispatch-level trace on {trace_mode} tensors, batch as given in input_shape",
    }


def count_graph(graph: Graph, model_name: str, dtype: str = "float32") -> Report:
    """Apply the op registry to every node of ``graph``."""
    fb = ops.dtype_bytes(dtype)
    rows = []
    unsupported: Counter[str] = Counter()
    names: Counter[str] = Counter()
    for node in graph.nodes:
        c = ops.count(node, fb)
        if c is None:
            unsupported[node.op] += 1
            c = {"macs": 0, "elem_ops": 0, "mac_bytes": 0, "activations": 0}
            label = f"UNSUPPORTED {node.op}"
        elif ops.is_free(node):
            continue
        else:
            label = ops.describe(node)
        kind = ops.label_of(ops.kind_of(node.op))      # the word tables print (pool, upsample)
        base = f"{node.module or '(root)'}:{kind if kind != 'unsupported' else node.op.split('.')[1]}"
        names[base] += 1
        name = base if names[base] == 1 else f"{base}#{names[base]}"
        rows.append({
            "name": name,
            "module": node.module,
            "op": label,
            "input_shapes": [list(t.shape) for t in node.inputs],
            "output_shape": list(node.outputs[0].shape) if node.outputs else [],
            "params": node.new_params,
            "macs": c["macs"],
            "flops": 2 * c["macs"],
            "elem_ops": c["elem_ops"],
            "mac_bytes": c["mac_bytes"],
            "activations": c["activations"],
            "node": node.id,
        })
    # parameters first read by a free op (rare: a view of a param feeding nothing counted)
    layers = Rows(rows, COLUMNS + ["node"])
    totals = {c: int(sum(r[c] for r in rows)) for c in NUMERIC}
    counted_params = totals["params"]
    free_params = sum(n.new_params for n in graph.nodes) - counted_params
    totals["buffers"] = int(sum(n.new_buffers for n in graph.nodes))
    if free_params:
        totals["params"] += free_params
    totals["params_unused"] = int(graph.params_unused)
    return Report(
        model=model_name,
        input_shape=[list(t.shape) for t in graph.inputs],
        dtype=dtype,
        layers=layers,
        totals=totals,
        unsupported=[{"op": k, "count": v} for k, v in sorted(unsupported.items())],
        conventions=conventions(dtype, graph.mode),
        graph=graph,
        sections={"trace": trace_section(graph)} if graph.retraced else {},
    )


def trace_section(graph: Graph) -> Section:
    """A model traced on real zero inputs although meta tensors were asked for: the JSON's
    ``trace`` key and a note for stderr say so, and that a branch on values took the zero inputs' way."""
    note = f"{graph.retraced}; a branch on tensor values is counted the way zero inputs take it"
    return Section("trace", data={"trace": {"mode": graph.mode, "note": note}}, notes=(note,))
