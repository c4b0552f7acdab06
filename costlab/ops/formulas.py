"""Every aten op's formula, kind and category: ``register([...], kind, formula, category=...)``
(conventions: :mod:`costlab.ops`). An op is named here and nowhere else."""
from __future__ import annotations

import torch

from ..ir import Node, TensorMeta
from .costs import tensor_bytes
from .registry import Formula, register


def _out(n: Node) -> TensorMeta:
    return n.outputs[0]


def _prod(xs) -> int:
    p = 1
    for x in xs:
        p *= int(x)
    return p


# -- conv / linear ------------------------------------------------------------------------

def _conv(n: Node) -> tuple[int, int]:
    x, w = n.inputs[0], n.inputs[1]
    out = _out(n)
    batch = x.shape[0] if len(x.shape) == len(w.shape) else 1
    if n.args.get("transposed", False):
        # every input element is multiplied into a (c_out/g) x k window
        macs = batch * _prod(x.shape[-(len(w.shape) - 2):]) * w.numel
    else:
        macs = batch * _prod(out.shape[-(len(w.shape) - 2):]) * w.numel
    has_bias = len(n.inputs) >= 3
    return macs, out.numel if has_bias else 0


def _addmm(n: Node) -> tuple[int, int]:
    _, a, b = n.inputs[:3]
    return a.shape[0] * a.shape[1] * b.shape[1], _out(n).numel


def _mm(n: Node) -> tuple[int, int]:
    a, b = n.inputs[:2]
    return a.shape[0] * a.shape[1] * b.shape[1], 0


def _bmm(n: Node) -> tuple[int, int]:
    a, b = n.inputs[:2]
    return a.shape[0] * a.shape[1] * a.shape[2] * b.shape[2], 0


def _baddbmm(n: Node) -> tuple[int, int]:
    _, a, b = n.inputs[:3]
    return a.shape[0] * a.shape[1] * a.shape[2] * b.shape[2], _out(n).numel


def _linear(n: Node) -> tuple[int, int]:
    x, w = n.inputs[0], n.inputs[1]
    macs = (x.numel // max(w.shape[-1], 1)) * w.numel
    return macs, _out(n).numel if len(n.inputs) >= 3 else 0


def _matmul(n: Node) -> tuple[int, int]:
    a = n.inputs[0]
    return _out(n).numel * a.shape[-1], 0


register(["aten.convolution", "aten._convolution", "aten.cudnn_convolution",
          "aten.mkldnn_convolution"], "conv", _conv, category="mac")
# composite ops, seen only when autograd's decomposition is skipped (inference_mode)
register(["aten.conv1d", "aten.conv2d", "aten.conv3d"], "conv", _conv, category="mac")
register("aten.linear", "linear", _linear, category="mac")
register("aten.matmul", "matmul", _matmul, category="mac")
register("aten.addmm", "linear", _addmm, category="mac")
register("aten.mm", "matmul", _mm, category="mac")
register("aten.bmm", "matmul", _bmm, category="mac")
register("aten.baddbmm", "matmul", _baddbmm, category="mac")


def _grouped_mm(n: Node) -> tuple[int, int]:
    """``torch._grouped_mm`` (mixture-of-experts: each token's row times its expert's matrix): one
    MAC per output element and contracted index; 2D x 2D splits K_total over the G groups of the
    output (G x M x N), so each output element contracts K_total / G on average: M x N x K_total in all.
    A bias (after the offsets where there are offsets) adds one per output element."""
    a, b = n.inputs[0], n.inputs[1]
    out = _out(n)
    both_2d = len(a.shape) == 2 and len(b.shape) == 2
    macs = (out.numel // max(out.shape[0], 1) if both_2d else out.numel) * a.shape[-1]
    offsets = 1 if 2 in (len(a.shape), len(b.shape)) else 0
    return macs, out.numel if len(n.inputs) > 2 + offsets else 0


register("aten._grouped_mm", "matmul", _grouped_mm, category="mac")


def _trilinear(n: Node) -> tuple[int, int]:
    # nn.Bilinear: out[b, o] = sum_ij x1[b, i] W[o, i, j] x2[b, j]; torch computes x1 W first
    # (b*o*i*j MACs), then the product with x2 (b*o*j MACs)
    x1, w = n.inputs[0], n.inputs[1]
    b = x1.numel // max(x1.shape[-1], 1) if x1.shape else 1
    o, j = (w.shape[-3], w.shape[-1]) if len(w.shape) >= 3 else (1, w.shape[-1] if w.shape else 1)
    return b * w.numel + b * o * j, 0


register("aten.mv", "matmul", lambda n: (n.inputs[0].numel, 0), category="mac")              # (n, m) @ (m)
register("aten.addmv", "matmul", lambda n: (n.inputs[1].numel, _out(n).numel), category="mac")
register(["aten.dot", "aten.vdot"], "matmul", lambda n: (n.inputs[0].numel, 0), category="mac")
register("aten._trilinear", "bilinear", _trilinear, category="mac")


def _einsum(n: Node) -> tuple[int, int]:
    """Two operands: one multiply-accumulate per combination of all indices (output x
    contracted). ``einsum`` itself is composite and reaches the trace as bmm / mul / sum;
    it is met only where torch does not decompose it."""
    eq = str(n.args.get("equation", "")).replace(" ", "")
    lhs = eq.split("->")[0].split(",")
    if len(n.inputs) < 2 or len(lhs) != len(n.inputs) or "..." in eq:
        return _prod([max(t.numel for t in n.inputs), 1]), 0
    size: dict[str, int] = {}
    for term, t in zip(lhs, n.inputs):
        for c, d in zip(term, t.shape):
            size[c] = max(size.get(c, 1), int(d))
    return _prod(size.values()) * (len(n.inputs) - 1), 0


register("aten.einsum", "matmul", _einsum, category="mac")


# -- fused recurrent and attention kernels --------------------------------------------------------
# The tracer turns the fused paths off (costlab.tracer.unfused_kernels), so these are met only
# when a forward forces a fused kernel itself; they count what the unfused ops count.

_RNN_GATES = {0: 1, 1: 1, 2: 4, 3: 3}          # cuDNN mode: RNN_RELU, RNN_TANH, LSTM, GRU
_RNN_ELEM = {1: 4, 3: 16, 4: 21}               # per step and hidden unit (gates: RNN 1, GRU 3, LSTM 4):
# each gate adds its two projections and two biases (3 adds) and applies its activation (4); LSTM's
# cell update c = f*c + i*g and h = o*tanh(c) add 5 (4 x 4 + 5 = 21); GRU's n gate multiplies by r
# and h = (1-z)*n + z*h (3 x 4 + 4 = 16): what torch's unfused RNN / GRU / LSTM cells count when
# traced (4, 16, 21; was 4, 15, 17: the bias adds undercounted)


def _rnn_steps(x: TensorMeta) -> int:
    return x.numel // max(x.shape[-1], 1) if x.shape else 0


def _mkldnn_rnn_layer(n: Node) -> tuple[int, int]:
    """One layer, one direction: input (T, B, I), w_ih (G*H, I), w_hh (G*H, H)."""
    x, w_ih, w_hh = n.inputs[0], n.inputs[1], n.inputs[2]
    hidden = int(n.args.get("hidden_size", w_hh.shape[-1]))
    gates = max(w_ih.shape[0] // max(hidden, 1), 1)
    steps = _rnn_steps(x)
    return steps * (w_ih.numel + w_hh.numel), steps * hidden * _RNN_ELEM.get(gates, 3 * gates)


def _cudnn_rnn(n: Node) -> tuple[int, int]:
    """All layers and directions: every 2-D weight (w_ih, w_hh, and w_hr with a projection)
    is applied at every step; hx / cx are 3-D, the flat weight buffer 1-D."""
    hidden = int(n.args.get("hidden_size", 0))
    gates = _RNN_GATES.get(int(n.args.get("mode", 2)), 4)
    steps = _rnn_steps(n.inputs[0])
    mats = [w for w in n.inputs[1:] if len(w.shape) == 2]
    units = sum(1 for w in mats if w.shape[0] == gates * hidden) // 2 * hidden
    return steps * sum(w.numel for w in mats), steps * units * _RNN_ELEM.get(gates, 3 * gates)


register("aten.mkldnn_rnn_layer", "rnn", _mkldnn_rnn_layer, category="mac")
register(["aten._cudnn_rnn", "aten.miopen_rnn"], "rnn", _cudnn_rnn, category="mac")


def _sdpa(n: Node) -> tuple[int, int]:
    """softmax(Q K^T * scale) V: Q (..., L, E), K (..., S, E), V (..., S, Ev); MACs of the
    two matmuls, Q K^T and (attention) V, over Q's batch and head dimensions."""
    q, k, v = n.inputs[:3]
    heads = q.numel // max(q.shape[-1] * q.shape[-2], 1)
    scores = heads * q.shape[-2] * k.shape[-2]
    # the math path scales Q and K by sqrt(scale) (1 per element) and takes the softmax (3 per score)
    return scores * (q.shape[-1] + v.shape[-1]), 3 * scores + q.numel + k.numel


register(["aten.scaled_dot_product_attention", "aten._scaled_dot_product_attention_math",
          "aten._scaled_dot_product_flash_attention_for_cpu", "aten._scaled_dot_product_flash_attention",
          "aten._scaled_dot_product_efficient_attention", "aten._scaled_dot_product_cudnn_attention",
          "aten._scaled_dot_product_fused_attention_overrideable",
          "aten._scaled_dot_product_attention_math_for_mps"], "attention", _sdpa, category="mac")


def _attention_core(tokens_q: int, lq: int, lk: int, e: int, heads: int) -> tuple[int, int]:
    batch = tokens_q // max(lq, 1)
    scores = batch * heads * lq * lk
    return batch * lq * lk * 2 * e, 4 * scores


def _native_mha(n: Node) -> tuple[int, int]:
    """nn.MultiheadAttention's fast path: in-projections, attention, out-projection."""
    q, k = n.inputs[0], n.inputs[1]
    e = int(n.args.get("embed_dim", q.shape[-1]))
    heads = int(n.args.get("num_head", 1))
    nq, nk = q.numel // max(e, 1), k.numel // max(e, 1)
    lq, lk = (q.shape[-2], k.shape[-2]) if len(q.shape) >= 2 else (1, 1)
    macs, elem = _attention_core(nq, lq, lk, e, heads)
    macs += (nq + 2 * nk) * e * e + nq * e * e
    return macs, elem + (nq + 2 * nk) * e + nq * e    # + in- and out-projection biases


def _encoder_layer(n: Node) -> tuple[int, int]:
    """nn.TransformerEncoderLayer's fast path: self-attention block + feed-forward block."""
    x = n.inputs[0]
    e = int(n.args.get("embed_dim", x.shape[-1]))
    heads = int(n.args.get("num_heads", 1))
    tokens = x.numel // max(e, 1)
    seq = x.shape[-2] if len(x.shape) >= 2 else 1
    weights = [w for w in n.inputs[1:13] if len(w.shape) == 2]   # qkv, out-proj, ffn 1, ffn 2
    ffn = weights[2].shape[0] if len(weights) >= 3 else 0
    macs, elem = _attention_core(tokens, seq, seq, e, heads)
    macs += tokens * sum(w.numel for w in weights)
    # biases (3e + e + ffn + e), two residual adds, two layer norms (4 each), the activation
    elem += tokens * (5 * e + ffn) + 2 * tokens * e + 8 * tokens * e + tokens * ffn
    return macs, elem


register("aten._native_multi_head_attention", "attention", _native_mha, category="mac")
register("aten._transformer_encoder_layer_fwd", "attention", _encoder_layer, category="mac")


# -- normalisation, activations, element-wise -----------------------------------------------

def _per_out(k: int) -> Formula:
    return lambda n: (0, k * _out(n).numel)


register(["aten.native_batch_norm", "aten._native_batch_norm_legit_no_training",
          "aten._native_batch_norm_legit", "aten.cudnn_batch_norm",
          "aten.miopen_batch_norm", "aten._batch_norm_no_update"], "batch_norm", _per_out(2), category="norm")
register(["aten.native_layer_norm", "aten.layer_norm"], "layer_norm", _per_out(4), category="norm")
register(["aten.native_group_norm", "aten.group_norm"], "group_norm", _per_out(4), category="norm")
register(["aten.batch_norm", "aten.instance_norm"], "batch_norm", _per_out(2), category="norm")
register(["aten.rms_norm", "aten._fused_rms_norm"], "rms_norm", _per_out(3), category="norm")

for _name in ["relu", "sigmoid", "silu", "gelu", "tanh", "hardswish", "hardsigmoid",
              "leaky_relu", "elu", "mish", "softplus", "threshold", "clamp", "clamp_min",
              "clamp_max", "hardtanh", "prelu", "_prelu_kernel", "selu", "celu", "log_sigmoid_forward"]:
    register([f"aten.{_name}", f"aten.{_name}_"], _name.strip("_"), _per_out(1), category="activation")
for _name in ["exp", "sqrt", "rsqrt", "neg", "abs", "pow", "reciprocal", "erf", "log"]:
    register([f"aten.{_name}", f"aten.{_name}_"], _name, _per_out(1), category="pointwise")
for _name in ["add", "sub", "mul", "div", "rsub", "maximum", "minimum"]:
    register([f"aten.{_name}", f"aten.{_name}_"], _name, _per_out(1), category="binary")
for _name in ["where", "gt", "lt", "ge", "le", "eq", "ne", "logical_and", "logical_or", "logical_not",
              "logical_xor", "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh", "floor", "ceil",
              "round", "trunc", "frac", "sign", "sgn", "square", "log1p", "log2", "log10", "exp2", "expm1",
              "erfc", "erfinv", "bitwise_not", "bitwise_and", "bitwise_or", "bitwise_xor", "isnan", "isinf",
              "nan_to_num", "remainder", "fmod", "floor_divide", "masked_fill", "lerp", "logit", "xlogy",
              "copysign", "isfinite", "signbit", "clip", "hypot", "true_divide"]:
    register([f"aten.{_name}", f"aten.{_name}_"], _name, _per_out(1), category="pointwise")
register(["aten.glu"], "glu", _per_out(2), category="activation")                  # sigmoid, multiply
for _name in ["hardshrink", "softshrink", "tanhshrink", "rrelu_with_noise", "relu6"]:
    register([f"aten.{_name}", f"aten.{_name}_"], _name, _per_out(1), category="activation")
register(["aten.addcmul", "aten.addcmul_", "aten.addcdiv", "aten.addcdiv_"], "addcmul", _per_out(2),
         category="pointwise")
register(["aten._softmax", "aten._log_softmax", "aten._safe_softmax"], "softmax", _per_out(3), category="softmax")
register(["aten.native_dropout"], "dropout", _per_out(1), category="pointwise")   # training mode only
# eval mode: the identity (free); a kind of its own, as it does no work
register(["aten.dropout", "aten.feature_dropout", "aten.alpha_dropout"], "identity", None, category="view",
         label="dropout")


# -- pooling and reductions ----------------------------------------------------------------

def _window_pool(n: Node) -> tuple[int, int]:
    k = n.args.get("kernel_size", [1])
    k = list(k) if isinstance(k, (list, tuple)) else [k]
    spatial = len(_out(n).shape) - 2
    if len(k) == 1 and spatial > 1:
        k = k * spatial
    return 0, _out(n).numel * _prod(k)


def _input_reduce(n: Node) -> tuple[int, int]:
    return 0, n.inputs[0].numel


register(["aten.max_pool2d_with_indices", "aten.max_pool2d", "aten.max_pool1d",
          "aten.max_pool3d_with_indices", "aten.max_pool1d_with_indices",
          "aten.mkldnn_max_pool2d"], "max_pool", _window_pool, category="pool_max", label="pool")
register(["aten.avg_pool1d", "aten.avg_pool2d", "aten.avg_pool3d"], "avg_pool", _window_pool, category="pool_avg",
         label="pool")
register(["aten._adaptive_avg_pool2d", "aten._adaptive_avg_pool3d", "aten.adaptive_max_pool2d",
          "aten.adaptive_max_pool1d", "aten._adaptive_avg_pool1d", "aten.adaptive_avg_pool1d"],
         "adaptive_pool", _input_reduce, category="global_pool")
register("aten.mean", "mean", _input_reduce, category="global_pool")
for _name in ["sum", "amax", "amin", "var_mean", "var", "std", "std_mean", "max", "min", "aminmax", "argmax",
              "argmin", "prod", "any", "all", "cumsum", "cumsum_", "cumprod", "cummax", "cummin", "median",
              "nanmedian", "mode", "nansum", "count_nonzero", "histc", "bincount"]:   # histc: MoE routers
    register(f"aten.{_name}", _name, _input_reduce, category="reduce")
# max / min of two tensors (max.other) are element-wise, not reductions (overloads win over packets)
register(["aten.max.other", "aten.min.other", "aten.fmax", "aten.fmin"], "maximum", _per_out(1),
         category="binary")


def _per_in(k: int) -> Formula:
    return lambda n: (0, k * n.inputs[0].numel)


register(["aten.logsumexp", "aten.logcumsumexp"], "logsumexp", _per_in(3), category="reduce")   # exp, add, log
register(["aten.linalg_vector_norm", "aten.norm", "aten.frobenius_norm"], "norm", _per_in(2),
         category="reduce")   # square, add


def _axis(n: Node, default: int = -1) -> tuple[int, int]:
    """(length along the op's ``dim``, number of such rows) of the first input."""
    x = n.inputs[0]
    if not x.shape:
        return 1, 1
    d = int(n.args.get("dim", default))
    length = max(int(x.shape[d]), 1)
    return length, x.numel // length


def _log2(x: int) -> int:
    return max(int(x - 1).bit_length(), 1)


def _sort(n: Node) -> tuple[int, int]:
    """n log2 n comparisons per sorted row."""
    length, rows = _axis(n)
    return 0, rows * length * _log2(length)


def _topk(n: Node) -> tuple[int, int]:
    """n log2 k comparisons per row (a heap of k)."""
    length, rows = _axis(n)
    return 0, rows * length * _log2(int(n.args.get("k", 1)) + 1)


register(["aten.sort", "aten.argsort", "aten.msort"], "sort", _sort, category="reduce")
register(["aten.topk", "aten.kthvalue"], "topk", _topk, category="reduce")


def _fft(factor: float, full_side: str) -> Formula:
    """``factor`` x N log2 n for N elements of the full (real-side) signal and n points per
    transform: 5 N log2 n for complex transforms, half of it for real ones (the usual FFT
    operation counts)."""
    def f(n: Node) -> tuple[int, int]:
        t = n.inputs[0] if full_side == "input" else _out(n)
        dims = n.args.get("dim", list(range(len(t.shape))))
        points = _prod(t.shape[d] for d in dims) if t.shape else 1
        return 0, int(factor * t.numel * _log2(points))
    return f


register("aten._fft_r2c", "fft", _fft(2.5, "input"), category="reduce")
register("aten._fft_c2r", "fft", _fft(2.5, "output"), category="reduce")
register("aten._fft_c2c", "fft", _fft(5.0, "input"), category="reduce")


# -- data movement -------------------------------------------------------------------------

_zero: Formula = lambda n: (0, 0)  # noqa: E731  (counted in MAC bytes, no arithmetic)

register(["aten.cat", "aten.stack"], "cat", _zero, category="move")
register(["aten.clone", "aten._to_copy", "aten.copy", "aten.copy_", "aten.contiguous"], "copy", _zero,
         category="move")
register(["aten.constant_pad_nd", "aten.reflection_pad1d", "aten.reflection_pad2d", "aten.reflection_pad3d",
          "aten.replication_pad1d", "aten.replication_pad2d", "aten.replication_pad3d", "aten._pad_circular",
          "aten.pad"], "pad", _zero, category="layout")
# copies that rearrange or gather data (pixel shuffle moves channels to space like a channel shuffle)
register(["aten.pixel_shuffle", "aten.pixel_unshuffle", "aten.channel_shuffle", "aten.native_channel_shuffle",
          "aten.repeat", "aten.repeat_interleave", "aten.roll", "aten.flip", "aten.masked_select",
          "aten.masked_scatter", "aten.masked_scatter_", "aten.index_put", "aten.index_put_", "aten.scatter",
          "aten.scatter_", "aten.index_copy", "aten.index_copy_", "aten.slice_scatter", "aten.select_scatter",
          "aten.diagonal_scatter", "aten.as_strided_scatter"], "copy", _zero, category="move")
# lookups read only what they gather (the output's elements) and their integer indices, not the
# whole table: an embedding of 16 token ids reads 16 rows of its vocabulary
register(["aten.embedding", "aten.index_select", "aten.gather", "aten.index", "aten.take_along_dim"], "gather",
         _zero, category="move",
         reads=lambda n, fb: tensor_bytes(n.outputs[0], fb) + sum(
             tensor_bytes(t, fb) for t in n.inputs if not getattr(torch, t.dtype, torch.float32).is_floating_point))
register(["aten.scatter_add", "aten.scatter_add_", "aten.scatter_reduce", "aten.scatter_reduce_",
          "aten.index_add", "aten.index_add_"], "scatter_add", _per_out(1), category="move")
register(["aten._embedding_bag", "aten.embedding_bag", "aten._embedding_bag_forward_only"], "embedding_bag",
         lambda n: (0, n.inputs[1].numel * (n.inputs[0].shape[-1] if n.inputs[0].shape else 1)),
         category="reduce")   # sums the gathered rows: one add per gathered element
register(["aten.tril", "aten.tril_", "aten.triu", "aten.triu_"], "mask", _zero, category="layout")
# allocations whose tensor argument only gives dtype / device (circular padding starts with new_empty)
register(["aten.new_zeros", "aten.new_ones", "aten.new_full", "aten.zeros_like", "aten.ones_like",
          "aten.full_like", "aten.rand_like", "aten.randn_like", "aten.randint_like"], "fill", _zero,
         category="layout")
register(["aten.upsample_nearest1d", "aten.upsample_nearest2d", "aten.upsample_nearest3d",
          "aten._upsample_nearest_exact2d"], "upsample_nearest", _zero, category="layout", label="upsample")
register(["aten.upsample_bilinear2d", "aten._upsample_bilinear2d_aa", "aten.upsample_bicubic2d",
          "aten.upsample_linear1d", "aten.upsample_trilinear3d"], "upsample_interp", _per_out(4), category="resample",
         label="upsample")
register(["aten.fill_", "aten.zero_", "aten.fill"], "fill", _zero, category="layout")

# -- free: views and metadata ----------------------------------------------------------------
register(["aten.view", "aten._unsafe_view", "aten.reshape", "aten.t", "aten.transpose",
          "aten.permute", "aten.expand", "aten.squeeze", "aten.unsqueeze", "aten.flatten",
          "aten.alias", "aten.detach", "aten.as_strided", "aten.unfold", "aten.view_as",
          "aten.lift_fresh", "aten.numpy_T", "aten.movedim", "aten.diagonal",
          "aten._reshape_alias", "aten.squeeze_", "aten.unsqueeze_", "aten.t_", "aten.as_strided_",
          "aten.transpose_", "aten.expand_as", "aten.view_as_real", "aten.view_as_complex",
          "aten.real", "aten.imag", "aten.conj", "aten._conj", "aten._neg_view"], "view", None, category="view")
# allocations without data: the memory is written by the op that fills it (counted there)
register(["aten.new_empty", "aten.new_empty_strided", "aten.empty_like"], "alloc", None, category="view")
register(["aten.split", "aten.split_with_sizes", "aten.chunk", "aten.unbind",
          "aten.tensor_split", "aten.unsafe_split", "aten.unsafe_split_with_sizes"], "split", None,
         category="view")
register(["aten.slice", "aten.narrow", "aten.select"], "slice", None, category="view")


# -- ops of newer models (each listed as unsupported by benchmarks/hf_auto_sweep.py) ------------

def _triangular_solve(n: Node) -> tuple[int, int]:
    """``linalg_solve_triangular(A, B)`` (gated delta-rule attention: qwen3_5, olmo_hybrid): each element
    of X is a dot product over up to n entries of A's triangle (n = A's side), (n + 1) / 2 MACs on
    average, n (n + 1) / 2 per column; one division per element counted as an element op."""
    side = n.inputs[0].shape[-1] if n.inputs[0].shape else 1
    return _out(n).numel * (side + 1) // 2, _out(n).numel


_GRID_TAPS = {0: 4, 1: 0, 2: 16}     # interpolation_mode: bilinear, nearest, bicubic


def _grid_sample(n: Node) -> tuple[int, int]:
    """``F.grid_sample`` (deformable attention: rt_detr, pp_doclayout): one weighted read per tap and
    output element, as bilinear upsampling counts 4."""
    return 0, _GRID_TAPS.get(int(n.args.get("interpolation_mode", 0)), 4) * _out(n).numel


register("aten.linalg_solve_triangular", "triangular_solve", _triangular_solve, category="mac")
register("aten.grid_sampler_2d", "grid_sample", _grid_sample, category="resample", label="upsample")
register("aten.im2col", "im2col", _zero, category="move")                   # nn.Unfold: a gathering copy
register("aten.col2im", "col2im", _input_reduce, category="reduce")         # nn.Fold: sums overlapping patches
register(["aten._is_all_true", "aten._is_any_true"], "all", _input_reduce, category="reduce")
register("aten.polar", "polar", _per_out(2), category="pointwise")          # abs * cos, abs * sin
# torch.nn.utils.weight_norm (wav2vec2, hubert, sew, vits): w = g * v / ||v||: square-add, divide, multiply
register("aten._weight_norm_interface", "weight_norm", _per_out(3), category="pointwise")   # on weights, not activations
