#!/usr/bin/env python3
"""GGUF fixtures for jseek, written with only struct + numpy (an independent writer: no gguf package, no jseek code).

    /usr/bin/python3 tools/make_gguf_fixtures.py --out src/test/resources/gguf

writes into <out>:
  q8_0_input.f32, q8_0_blocks.bin, q8_0_decoded.f32
      ggml's Q8_0 reference quantizer (quantize_row_q8_0_ref) in numpy float32 arithmetic: d = amax/127,
      id = 1/d (0 when d == 0), q = roundf(x*id) with C's roundf (half AWAY from zero; np.round is half-to-even, so
      it is not used), d stored as binary16 (round-to-nearest-even), decode q * fp16(d) in float32. Inputs include
      exact .5 ties, an all-zero block, tiny and large magnitudes.
  struct_written.gguf + struct_written.json
      a GGUF v3 file with every metadata value type (incl. nested and string arrays), general.alignment 64, and
      tensors of types F32, F16, BF16, Q8_0 and I32 of ranks 1-3; the JSON lists what a reader must find (metadata
      values, tensor dims/types/offsets, and the decoded float values).
  parity_yarn_qlora_legacy.gguf
      the parity fixture ../parity/yarn_qlora (HF safetensors, F32) converted to a llama.cpp deepseek2 GGUF the way
      OLDER llama.cpp converters did: attn_kv_b kept whole, per-head key_length/value_length (no *_mla keys),
      experts stacked [n_expert, out, in], MTP layer as blk.3.nextn.*, no jseek.config (the config must come from
      the deepseek2.* keys alone).
Deterministic: fixed seeds; rerunning gives identical bytes.
"""
import argparse
import json
import os
import struct

import numpy as np

GGUF_TYPES = {"u8": 0, "i8": 1, "u16": 2, "i16": 3, "u32": 4, "i32": 5, "f32": 6, "bool": 7, "str": 8, "arr": 9,
              "u64": 10, "i64": 11, "f64": 12}
SCALAR_FMT = {"u8": "<B", "i8": "<b", "u16": "<H", "i16": "<h", "u32": "<I", "i32": "<i", "f32": "<f", "u64": "<Q",
              "i64": "<q", "f64": "<d"}
GGML = {"F32": (0, 1, 4), "F16": (1, 1, 2), "Q8_0": (8, 32, 34), "I32": (26, 1, 4), "BF16": (30, 1, 2)}


def gguf_string(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def gguf_value(t, v):
    if t == "str":
        return gguf_string(v)
    if t == "bool":
        return struct.pack("<B", 1 if v else 0)
    if isinstance(t, tuple):  # ("arr", element type)
        et = t[1]
        head = struct.pack("<IQ", GGUF_TYPES["arr"] if isinstance(et, tuple) else GGUF_TYPES[et], len(v))
        return head + b"".join(gguf_value(et, x) for x in v)
    return struct.pack(SCALAR_FMT[t], v)


def type_id(t):
    return GGUF_TYPES["arr"] if isinstance(t, tuple) else GGUF_TYPES[t]


def write_gguf(path, kvs, tensors, alignment=32):
    """kvs: [(key, type, value)]; tensors: [(name, ggml type name, row-major shape, raw bytes)]."""
    out = bytearray(b"GGUF")
    out += struct.pack("<IQQ", 3, len(tensors), len(kvs))
    for k, t, v in kvs:
        out += gguf_string(k) + struct.pack("<I", type_id(t)) + gguf_value(t, v)
    offsets, off = [], 0
    for name, tname, shape, raw in tensors:
        dims = list(reversed(shape))
        out += gguf_string(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        out += struct.pack("<IQ", GGML[tname][0], off)
        offsets.append(off)
        off += len(raw)
        off = (off + alignment - 1) // alignment * alignment
    out += b"\0" * ((-len(out)) % alignment)
    data_start = len(out)
    for (name, tname, shape, raw), o in zip(tensors, offsets):
        assert len(out) - data_start == o
        out += raw
        out += b"\0" * ((-len(out) + data_start) % alignment)
    with open(path, "wb") as f:
        f.write(out)
    return offsets


# ------------------------------------------------------------------------------------------------ Q8_0 reference


def roundf(x):
    """C roundf on float32 values: half away from zero (exact in float64: |x| + 0.5 has no rounding)."""
    x = x.astype(np.float64)
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def q8_0_quantize(x):
    x = x.astype(np.float32).reshape(-1, 32)
    amax = np.max(np.abs(x), axis=1)
    d = (amax / np.float32(127)).astype(np.float32)
    idv = np.where(d != 0, np.float32(1) / np.where(d != 0, d, np.float32(1)), np.float32(0)).astype(np.float32)
    q = roundf((x * idv[:, None]).astype(np.float32)).astype(np.int8)
    d16 = d.astype(np.float16)
    blocks = bytearray()
    for i in range(x.shape[0]):
        blocks += d16[i].tobytes() + q[i].tobytes()
    decoded = (q.astype(np.float32) * d16.astype(np.float32)[:, None]).astype(np.float32).reshape(-1)
    return bytes(blocks), decoded


def bf16_bytes(x):
    """Round-to-nearest-even float32 -> bfloat16 (finite inputs)."""
    b = x.astype(np.float32).view(np.uint32).astype(np.uint64)
    r = ((b + 0x7FFF + ((b >> 16) & 1)) >> 16).astype(np.uint16)
    return r.tobytes(), (r.astype(np.uint32) << 16).view(np.float32)


def q8_fixture(out):
    rng = np.random.default_rng(7)
    blocks = [rng.normal(0, 1, 32) for _ in range(5)]
    ties = np.zeros(32)
    ties[0], ties[1:9] = 127, [0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 126.5, -126.5]  # d = 1: x*id lands on .5 exactly
    blocks += [ties, np.zeros(32), rng.normal(0, 1e-6, 32), rng.normal(0, 3e3, 32), rng.uniform(-1, 1, 32) * 0.01]
    x = np.concatenate(blocks).astype(np.float32)
    raw, dec = q8_0_quantize(x)
    x.tofile(os.path.join(out, "q8_0_input.f32"))
    open(os.path.join(out, "q8_0_blocks.bin"), "wb").write(raw)
    dec.tofile(os.path.join(out, "q8_0_decoded.f32"))


def struct_fixture(out):
    rng = np.random.default_rng(11)
    kvs = [
        ("general.architecture", "str", "jseek-fixture"),
        ("general.alignment", "u32", 64),
        ("test.u8", "u8", 250), ("test.i8", "i8", -7), ("test.u16", "u16", 65000), ("test.i16", "i16", -30000),
        ("test.u32", "u32", 4000000000), ("test.i32", "i32", -2000000000), ("test.f32", "f32", 0.1),
        ("test.bool", "bool", True), ("test.str", "str", "héllo, wörld"), ("test.u64", "u64", 2 ** 63 + 5),
        ("test.i64", "i64", -(2 ** 40)), ("test.f64", "f64", 0.1),
        ("test.arr_i32", ("arr", "i32"), [1, -2, 3]),
        ("test.arr_str", ("arr", "str"), ["a", "bc", ""]),
        ("test.arr_nested", ("arr", ("arr", "u8")), [[1, 2], [3]]),
        ("test.arr_empty", ("arr", "f32"), []),
    ]
    f32 = rng.normal(0, 1, (2, 3)).astype(np.float32)
    f16 = rng.normal(0, 1, (3,)).astype(np.float16)
    bfb, bfv = bf16_bytes(rng.normal(0, 1, (2, 2, 2)).astype(np.float32))
    q8x = rng.normal(0, 1, (2, 64)).astype(np.float32)
    q8raw, q8dec = q8_0_quantize(q8x)
    i32 = np.array([5, -6, 7], dtype=np.int32)
    tensors = [("w.f32", "F32", [2, 3], f32.tobytes()), ("w.f16", "F16", [3], f16.tobytes()),
               ("w.bf16", "BF16", [2, 2, 2], bfb), ("w.q8_0", "Q8_0", [2, 64], q8raw), ("w.i32", "I32", [3], i32.tobytes())]
    offsets = write_gguf(os.path.join(out, "struct_written.gguf"), kvs, tensors, alignment=64)

    names = {"u8": "UINT8", "i8": "INT8", "u16": "UINT16", "i16": "INT16", "u32": "UINT32", "i32": "INT32",
             "f32": "FLOAT32", "bool": "BOOL", "str": "STRING", "u64": "UINT64", "i64": "INT64", "f64": "FLOAT64"}

    def js(t, v):
        if isinstance(t, tuple):
            return {"type": "ARRAY", "element": "ARRAY" if isinstance(t[1], tuple) else names[t[1]], "value": [js(t[1], x) for x in v]}
        if t == "f32":
            v = float(np.float32(v))
        if t == "u64":
            v = str(v)  # beyond a JSON/long-safe integer
        return {"type": names[t], "value": v}

    expect = {
        "metadata": {k: js(t, v) for k, t, v in kvs},
        "metadata_order": [k for k, _, _ in kvs],
        "tensors": [{"name": n, "type": t, "dims": list(reversed(s)), "offset": o,
                     "values": [float(x) for x in vals.reshape(-1)]}
                    for (n, t, s, _), o, vals in zip(tensors, offsets,
                                                     [f32, f16.astype(np.float32), bfv, q8dec, i32.astype(np.float32)])],
    }
    with open(os.path.join(out, "struct_written.json"), "w") as f:
        json.dump(expect, f, indent=1, sort_keys=True)


# ------------------------------------------------------------------------------------------------ deepseek2 (legacy)


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        assert v["dtype"] == "F32", (k, v["dtype"])
        b, e = v["data_offsets"]
        out[k] = np.frombuffer(data[b:e], dtype="<f4").reshape(v["shape"])
    return out


def deepseek2_fixture(out, parity):
    cfg = json.load(open(os.path.join(parity, "config.json")))
    w = read_safetensors(os.path.join(parity, "model.safetensors"))
    L, mtp = cfg["num_hidden_layers"], cfg["num_nextn_predict_layers"]
    a = "deepseek2."
    rs = cfg["rope_scaling"]
    kvs = [("general.architecture", "str", "deepseek2"), ("general.name", "str", "parity yarn_qlora (python legacy)"),
           (a + "block_count", "u32", L + mtp), (a + "nextn_predict_layers", "u32", mtp),
           (a + "context_length", "u32", cfg["max_position_embeddings"]), (a + "embedding_length", "u32", cfg["hidden_size"]),
           (a + "feed_forward_length", "u32", cfg["intermediate_size"]),
           (a + "attention.head_count", "u32", cfg["num_attention_heads"]), (a + "attention.head_count_kv", "u32", cfg["num_attention_heads"]),
           (a + "rope.freq_base", "f32", cfg["rope_theta"]), (a + "attention.layer_norm_rms_epsilon", "f32", cfg["rms_norm_eps"]),
           (a + "expert_used_count", "u32", cfg["num_experts_per_tok"]), (a + "expert_group_count", "u32", cfg["n_group"]),
           (a + "expert_group_used_count", "u32", cfg["topk_group"]),
           (a + "leading_dense_block_count", "u32", cfg["first_k_dense_replace"]), (a + "vocab_size", "u32", cfg["vocab_size"]),
           (a + "attention.q_lora_rank", "u32", cfg["q_lora_rank"]), (a + "attention.kv_lora_rank", "u32", cfg["kv_lora_rank"]),
           (a + "attention.key_length", "u32", cfg["qk_nope_head_dim"] + cfg["qk_rope_head_dim"]),
           (a + "attention.value_length", "u32", cfg["v_head_dim"]),
           (a + "expert_feed_forward_length", "u32", cfg["moe_intermediate_size"]),
           (a + "expert_count", "u32", cfg["n_routed_experts"]), (a + "expert_shared_count", "u32", cfg["n_shared_experts"]),
           (a + "expert_weights_scale", "f32", cfg["routed_scaling_factor"]), (a + "expert_weights_norm", "bool", cfg["norm_topk_prob"]),
           (a + "expert_gating_func", "u32", 2), (a + "rope.dimension_count", "u32", cfg["qk_rope_head_dim"]),
           (a + "rope.scaling.type", "str", "yarn"), (a + "rope.scaling.factor", "f32", rs["factor"]),
           (a + "rope.scaling.original_context_length", "u32", rs["original_max_position_embeddings"]),
           (a + "rope.scaling.yarn_beta_fast", "f32", rs["beta_fast"]), (a + "rope.scaling.yarn_beta_slow", "f32", rs["beta_slow"]),
           (a + "rope.scaling.yarn_log_multiplier", "f32", float(np.float32(0.1) * np.float32(rs["mscale_all_dim"]))),
           ("tokenizer.ggml.model", "str", "none"),
           ("tokenizer.ggml.bos_token_id", "u32", cfg["bos_token_id"]), ("tokenizer.ggml.eos_token_id", "u32", cfg["eos_token_id"])]
    names = {"input_layernorm.weight": "attn_norm.weight", "self_attn.q_a_proj.weight": "attn_q_a.weight",
             "self_attn.q_a_layernorm.weight": "attn_q_a_norm.weight", "self_attn.q_b_proj.weight": "attn_q_b.weight",
             "self_attn.kv_a_proj_with_mqa.weight": "attn_kv_a_mqa.weight", "self_attn.kv_a_layernorm.weight": "attn_kv_a_norm.weight",
             "self_attn.kv_b_proj.weight": "attn_kv_b.weight", "self_attn.o_proj.weight": "attn_output.weight",
             "post_attention_layernorm.weight": "ffn_norm.weight", "mlp.gate_proj.weight": "ffn_gate.weight",
             "mlp.up_proj.weight": "ffn_up.weight", "mlp.down_proj.weight": "ffn_down.weight",
             "mlp.gate.weight": "ffn_gate_inp.weight", "mlp.gate.e_score_correction_bias": "exp_probs_b.bias",
             "mlp.shared_experts.gate_proj.weight": "ffn_gate_shexp.weight", "mlp.shared_experts.up_proj.weight": "ffn_up_shexp.weight",
             "mlp.shared_experts.down_proj.weight": "ffn_down_shexp.weight", "enorm.weight": "nextn.enorm.weight",
             "hnorm.weight": "nextn.hnorm.weight", "eh_proj.weight": "nextn.eh_proj.weight",
             "shared_head.norm.weight": "nextn.shared_head_norm.weight"}
    tensors = [("token_embd.weight", w["model.embed_tokens.weight"])]
    for l in range(L + mtp):
        p = "model.layers.%d." % l
        for hf in sorted(k for k in w if k.startswith(p) and ".experts." not in k):
            rest = hf[len(p):]
            if rest in ("embed_tokens.weight", "shared_head.head.weight"):
                continue  # MTP copies of the main embedding / head: not exported
            tensors.append(("blk.%d.%s" % (l, names[rest]), w[hf]))
        for proj in ("gate", "up", "down"):
            ex = [w[p + "mlp.experts.%d.%s_proj.weight" % (e, proj)] for e in range(cfg["n_routed_experts"])
                  if (p + "mlp.experts.%d.%s_proj.weight" % (e, proj)) in w]
            if ex:
                tensors.append(("blk.%d.ffn_%s_exps.weight" % (l, proj), np.stack(ex, axis=0)))
    tensors += [("output_norm.weight", w["model.norm.weight"]), ("output.weight", w["lm_head.weight"])]
    write_gguf(os.path.join(out, "parity_yarn_qlora_legacy.gguf"), kvs,
               [(n, "F32", list(t.shape), np.ascontiguousarray(t, dtype="<f4").tobytes()) for n, t in tensors])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="src/test/resources/gguf")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    q8_fixture(args.out)
    struct_fixture(args.out)
    deepseek2_fixture(args.out, os.path.join(args.out, "..", "parity", "yarn_qlora"))


if __name__ == "__main__":
    main()
