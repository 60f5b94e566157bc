"""Build an ONNX graph of a BERT sentence encoder straight from its safetensors weights.

No torch, no export step: the graph is written with ONNX Runtime's fused contrib ops
(EmbedLayerNormalization, Attention, SkipLayerNormalization, BiasGelu), which is what
ORT's transformer optimizer would produce from a torch export, and mean pooling over the
attention mask happens inside the graph. The output is the pooled, *unnormalized* vector,
because Ollama's legacy /api/embeddings returns it that way.
"""

from __future__ import annotations

import json
import mmap
import struct
from pathlib import Path

import numpy as np

BUILDER_VERSION = 3  # bump when the graph changes, so cached .onnx files are rebuilt

_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32}


def map_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Read-only arrays over a mapped safetensors file (8-byte header size, JSON header, raw tensors):
    only the pages a computation touches are read."""
    with path.open("rb") as f:
        mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    (header_size,) = struct.unpack("<Q", mapped[:8])
    header = json.loads(mapped[8 : 8 + header_size])
    base = 8 + header_size
    arrays = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        dtype = np.dtype(_DTYPES[meta["dtype"]])
        start, end = meta["data_offsets"]
        flat = np.frombuffer(mapped, dtype=dtype, count=(end - start) // dtype.itemsize, offset=base + start)
        arrays[name] = flat.reshape(meta["shape"])
    return arrays


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """The tensors as owned arrays, half precision widened to float32 (what the graph builder wants)."""
    return {
        name: array.astype(np.float32) if array.dtype == np.float16 else array.copy()
        for name, array in map_safetensors(path).items()
    }


def build_bert_encoder(weights: dict[str, np.ndarray], config: dict) -> bytes:
    """Serialized ONNX model: (input_ids int32 [B,S], attention_mask int32 [B,S]) -> pooled [B,H]."""
    from onnx import TensorProto, helper, numpy_helper

    hidden = int(config["hidden_size"])
    heads = int(config["num_attention_heads"])
    layers = int(config["num_hidden_layers"])
    eps = float(config.get("layer_norm_eps", 1e-12))
    prefix = "bert." if "bert.embeddings.word_embeddings.weight" in weights else ""

    def w(name: str) -> np.ndarray:
        return np.ascontiguousarray(weights[prefix + name], dtype=np.float32)

    initializers = []

    def const(name: str, value: np.ndarray) -> str:
        initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    nodes = []
    ms = "com.microsoft"

    # Token types are all 0 for single sentences: fold that row into the position table.
    positions = w("embeddings.position_embeddings.weight") + w("embeddings.token_type_embeddings.weight")[0]
    nodes.append(
        helper.make_node(
            "EmbedLayerNormalization",
            [
                "input_ids",
                "",
                const("word_embeddings", w("embeddings.word_embeddings.weight")),
                const("position_embeddings", positions),
                "",
                const("embeddings_ln_gamma", w("embeddings.LayerNorm.weight")),
                const("embeddings_ln_beta", w("embeddings.LayerNorm.bias")),
            ],
            ["hidden_0", "", ""],
            domain=ms,
            epsilon=eps,
        )
    )

    def dense(x: str, name: str, weight: str, out: str) -> str:
        """x @ W: torch stores Linear weights as (out, in), ONNX MatMul wants (in, out)."""
        nodes.append(helper.make_node("MatMul", [x, const(name, w(weight).T)], [out]))
        return out

    def add_and_norm(x: str, residual: str, prefix: str, bias: str, layer_norm: str, out: str) -> str:
        """LayerNorm(x + bias + residual), fused into one SkipLayerNormalization."""
        inputs = [
            x,
            residual,
            const(f"{prefix}_ln_g", w(layer_norm + ".weight")),
            const(f"{prefix}_ln_b", w(layer_norm + ".bias")),
            const(f"{prefix}_bias", w(bias)),
        ]
        nodes.append(helper.make_node("SkipLayerNormalization", inputs, [out], domain=ms, epsilon=eps))
        return out

    current = "hidden_0"
    for i in range(layers):
        p = f"encoder.layer.{i}."
        parts = ("query", "key", "value")
        qkv_weight = np.concatenate([w(p + f"attention.self.{part}.weight").T for part in parts], axis=1)
        qkv_bias = np.concatenate([w(p + f"attention.self.{part}.bias") for part in parts])
        inputs = [current, const(f"l{i}_qkv_w", qkv_weight), const(f"l{i}_qkv_b", qkv_bias), "attention_mask"]
        nodes.append(helper.make_node("Attention", inputs, [f"l{i}_context"], domain=ms, num_heads=heads))
        projected = dense(f"l{i}_context", f"l{i}_attn_out_w", p + "attention.output.dense.weight", f"l{i}_attn_proj")
        attended = add_and_norm(
            projected, current, f"l{i}_attn", p + "attention.output.dense.bias", p + "attention.output.LayerNorm",
            f"l{i}_attn_norm",
        )  # fmt: skip
        widened = dense(attended, f"l{i}_ffn_in_w", p + "intermediate.dense.weight", f"l{i}_ffn_in")
        bias = const(f"l{i}_ffn_in_b", w(p + "intermediate.dense.bias"))
        nodes.append(helper.make_node("BiasGelu", [widened, bias], [f"l{i}_ffn_act"], domain=ms))
        narrowed = dense(f"l{i}_ffn_act", f"l{i}_ffn_out_w", p + "output.dense.weight", f"l{i}_ffn_out")
        current = add_and_norm(
            narrowed, attended, f"l{i}_out", p + "output.dense.bias", p + "output.LayerNorm", f"hidden_{i + 1}"
        )

    # Mean pooling over real tokens: sum(h * mask) / sum(mask).
    nodes += [
        helper.make_node("Cast", ["attention_mask"], ["mask_f"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["mask_f", const("axis_last", np.array([-1], np.int64))], ["mask_3d"]),
        helper.make_node("Mul", [current, "mask_3d"], ["masked"]),
        helper.make_node("ReduceSum", ["masked", const("axis_seq", np.array([1], np.int64))], ["summed"], keepdims=0),
        helper.make_node("ReduceSum", ["mask_3d", "axis_seq"], ["counts"], keepdims=0),
        helper.make_node("Max", ["counts", const("min_count", np.array([1e-9], np.float32))], ["counts_safe"]),
        helper.make_node("Div", ["summed", "counts_safe"], ["pooled"]),
    ]

    for node in nodes:
        node.name = node.output[0]  # named, so tools (e.g. quantization) can pick nodes
    graph = helper.make_graph(
        nodes,
        "sentence_encoder",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT32, ["batch", "seq"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT32, ["batch", "seq"]),
        ],
        [helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["batch", hidden])],
        initializers,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(ms, 1)],
        producer_name="semsearch",
    )
    model.ir_version = 8
    return model.SerializeToString()


# Left in fp32 by quantize_int8: the FFN output projections, whose inputs (GELU outputs) have
# the widest range, are where int8 loses most (the variants measured: benchmarks/QUALITY.md, int8).
INT8_KEEP_FP32 = tuple(f"l{i}_ffn_out" for i in range(64))


def quantize_int8(fp32_path: Path, out_path: Path) -> None:
    """Dynamic int8 quantization of the MatMuls and Attention weights (per channel, symmetric)."""
    import logging

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # The quantizer logs advice through the root logger, which would also set up logging for
    # the whole process: give root a silent handler and mute warnings while it runs.
    root, silent, muted = logging.getLogger(), logging.NullHandler(), logging.root.manager.disable
    root.addHandler(silent)
    logging.disable(logging.WARNING)
    try:
        quantize_dynamic(
            fp32_path,
            out_path,
            weight_type=QuantType.QInt8,
            per_channel=True,
            nodes_to_exclude=list(INT8_KEEP_FP32),
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    finally:
        logging.disable(muted)
        root.removeHandler(silent)
