#!/usr/bin/env python3
"""Parity fixtures for jseek: tiny DeepSeek-V3 checkpoints plus the logits an independent PyTorch forward gives.

Written from the report and docs/architecture.md (§2-§6) only. Everything is computed in
float64 from exactly the weights stored in the checkpoint (float32, BF16 or FP8 x scale, cast back), so a Java
float32 forward should differ only by float32 rounding.

    /usr/bin/python3 tools/make_parity_fixtures.py --out src/test/resources/parity

writes, per case, <out>/<case>/{config.json, model.safetensors, case.json, logits.npy, mtp_logits.npy,
hidden_states.npy, mtp_hidden.npy, topk.npy, mtp_topk.npy}, and the FP8 encoder oracle
<out>/../fp8/quant.safetensors and the .npy reader oracles <out>/../npy/*.npy. See tools/README.md.
Deterministic: fixed seeds, single-threaded torch, sorted JSON; rerunning gives identical bytes.
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch

torch.set_num_threads(1)
F64 = torch.float64
MARGIN_MIN = 2e-3  # required gap at every routing decision (expert top-k and kept/dropped groups)

# ----------------------------------------------------------------------------------------------------------------
# Number formats
# ----------------------------------------------------------------------------------------------------------------


def e4m3_decode_table():
    """float64 value of every E4M3FN code (docs/architecture.md §2.3): bias 7, no infinities, S.1111.111 = NaN, max 448."""
    t = np.zeros(256, dtype=np.float64)
    for v in range(256):
        s = -1.0 if v & 0x80 else 1.0
        e, m = (v >> 3) & 0xF, v & 7
        if e == 15 and m == 7:
            t[v] = np.nan
        elif e == 0:
            t[v] = s * (m / 8.0) * 2.0 ** -6
        else:
            t[v] = s * (1 + m / 8.0) * 2.0 ** (e - 7)
    return t


E4M3 = e4m3_decode_table()
E4M3_POS = E4M3[:0x7F]  # codes 0x00..0x7E: the non-negative finite values, strictly increasing with the code


def e4m3_encode(x):
    """float32 array -> uint8 E4M3FN codes by brute force: nearest representable value, ties to the even code,
    saturating to +-448 (also for +-inf), NaN -> 0x7F | sign. Independent of any bit trick on purpose."""
    x = np.asarray(x, dtype=np.float32)
    a = np.abs(x.astype(np.float64))
    sign = (np.signbit(x).astype(np.uint8) << 7)
    nan = np.isnan(a)
    a = np.where(nan, 0.0, np.minimum(a, 448.0))
    hi = np.searchsorted(E4M3_POS, a, side="left")  # first value >= a
    hi = np.minimum(hi, len(E4M3_POS) - 1)
    lo = np.maximum(hi - 1, 0)
    d_lo = a - E4M3_POS[lo]
    d_hi = E4M3_POS[hi] - a
    pick_hi = (d_hi < d_lo) | ((d_hi == d_lo) & (hi % 2 == 0))
    code = np.where(pick_hi, hi, lo)
    code = np.where(E4M3_POS[hi] == a, hi, code)  # exact hits (also a == 0)
    code = np.where(nan, 0x7F, code).astype(np.uint8)
    return code | sign


def fp8_quantize(w):
    """[rows, cols] float32 -> (codes uint8 [rows, cols], scale float32 [ceil(rows/128), ceil(cols/128)]) per the
    docs/architecture.md §2.3 recipe: amax = max(max|x| over the (partial) block, 1e-4), scale = amax / 448 in float32,
    code = e4m3(x / scale) with x / scale in float32."""
    w = np.asarray(w, dtype=np.float32)
    rows, cols = w.shape
    br, bc = -(-rows // 128), -(-cols // 128)
    codes = np.zeros((rows, cols), dtype=np.uint8)
    scales = np.zeros((br, bc), dtype=np.float32)
    for i in range(br):
        for j in range(bc):
            blk = w[i * 128:(i + 1) * 128, j * 128:(j + 1) * 128]
            amax = np.float32(max(np.float32(np.abs(blk).max()), np.float32(1e-4)))
            s = np.float32(amax / np.float32(448.0))
            scales[i, j] = s
            codes[i * 128:(i + 1) * 128, j * 128:(j + 1) * 128] = e4m3_encode((blk / s).astype(np.float32))
    return codes, scales


def fp8_dequantize(codes, scales):
    """fp8 value * block scale, multiplied in float32 (what a float32 engine computes)."""
    rows, cols = codes.shape
    s = np.repeat(np.repeat(scales, 128, axis=0), 128, axis=1)[:rows, :cols]
    return (E4M3[codes].astype(np.float32) * s).astype(np.float32)


def bf16_bits(x):
    """float32 -> BF16 bits (uint16), round to nearest even (all inputs here are finite)."""
    b = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    b = (b + 0x7FFF + ((b >> 16) & 1)) >> 16
    return b.astype(np.uint16)


def bf16_value(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32)


# ----------------------------------------------------------------------------------------------------------------
# Files (written to a temp name, then renamed)
# ----------------------------------------------------------------------------------------------------------------


def atomic_write(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_safetensors(path, tensors, metadata=None):
    """tensors: name -> (dtype string, shape tuple, numpy array whose little-endian bytes are the data)."""
    header = {}
    if metadata:
        header["__metadata__"] = dict(sorted(metadata.items()))
    blobs, off = [], 0
    for name in sorted(tensors):
        dtype, shape, arr = tensors[name]
        raw = np.ascontiguousarray(arr).tobytes()
        n = int(np.prod(shape)) if len(shape) else 1
        size = {"F32": 4, "BF16": 2, "F8_E4M3": 1, "U8": 1}[dtype] * n
        assert len(raw) == size, (name, len(raw), size)
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    atomic_write(path, struct.pack("<Q", len(h)) + h + b"".join(blobs))


def write_npy(path, arr):
    tmp = path + ".tmp.npy"
    np.save(tmp, arr)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_json(path, obj):
    atomic_write(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode("utf-8"))


# ----------------------------------------------------------------------------------------------------------------
# Model (report §2.1.1, §4.3, §2.1.2, §2.2), float64
# ----------------------------------------------------------------------------------------------------------------


def rms_norm(x, w, eps):
    return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps) * w


def linear(x, w):
    return x @ w.T


def yarn(cfg):
    """Returns (inverse frequencies f'_i [rope/2], softmax scale sigma) per docs/architecture.md §4.1-§4.3, §3.1."""
    dim, theta = cfg["qk_rope_head_dim"], cfg["rope_theta"]
    f = 1.0 / theta ** (torch.arange(0, dim, 2, dtype=F64) / dim)
    sigma = (cfg["qk_nope_head_dim"] + cfg["qk_rope_head_dim"]) ** -0.5
    rs = cfg.get("rope_scaling")
    if rs and rs["type"] == "yarn" and cfg["max_position_embeddings"] > rs["original_max_position_embeddings"]:
        s, L0 = rs["factor"], rs["original_max_position_embeddings"]
        assert rs["mscale"] == rs["mscale_all_dim"], "fixtures keep HF's cos/sin attention_factor at 1"

        def corr(n_rot):
            return dim * math.log(L0 / (n_rot * 2 * math.pi)) / (2 * math.log(theta))

        low = max(math.floor(corr(rs["beta_fast"])), 0)
        high = min(math.ceil(corr(rs["beta_slow"])), dim - 1)
        if low == high:
            high += 0.001
        ramp = ((torch.arange(dim // 2, dtype=F64) - low) / (high - low)).clamp(0, 1)
        smooth = 1 - ramp
        f = f / s * (1 - smooth) + f * smooth
        m = 0.1 * rs["mscale_all_dim"] * math.log(s) + 1 if s > 1 else 1.0
        sigma = sigma * m * m
    return f, sigma


def rope(x, pos, f):
    """Interleaved pairs (x[2i], x[2i+1]) rotated by pos * f_i (docs/architecture.md §3.5). x: [T, ..., dim], pos: [T]."""
    ang = pos.to(F64)[:, None] * f[None, :]  # [T, dim/2]
    shape = [x.shape[0]] + [1] * (x.dim() - 2) + [f.shape[0]]
    c, s = torch.cos(ang).reshape(shape), torch.sin(ang).reshape(shape)
    a, b = x[..., 0::2], x[..., 1::2]
    out = torch.empty_like(x)
    out[..., 0::2] = a * c - b * s
    out[..., 1::2] = a * s + b * c
    return out


def mla(cfg, W, p, x, pos, f, sigma):
    """Multi-head latent attention, naive mode (docs/architecture.md §3.1, §3.2), causal over the T positions of x."""
    T, H = x.shape[0], cfg["num_attention_heads"]
    dn, dr, dv, r = cfg["qk_nope_head_dim"], cfg["qk_rope_head_dim"], cfg["v_head_dim"], cfg["kv_lora_rank"]
    eps = cfg["rms_norm_eps"]
    if cfg["q_lora_rank"] is None:
        q = linear(x, W[p + "self_attn.q_proj.weight"])
    else:
        cq = rms_norm(linear(x, W[p + "self_attn.q_a_proj.weight"]), W[p + "self_attn.q_a_layernorm.weight"], eps)
        q = linear(cq, W[p + "self_attn.q_b_proj.weight"])
    q = q.view(T, H, dn + dr)
    q_nope, q_pe = q[..., :dn], rope(q[..., dn:], pos, f)
    a = linear(x, W[p + "self_attn.kv_a_proj_with_mqa.weight"])
    c_kv = rms_norm(a[:, :r], W[p + "self_attn.kv_a_layernorm.weight"], eps)
    k_pe = rope(a[:, r:], pos, f)  # [T, dr], one key shared by all heads
    kv = linear(c_kv, W[p + "self_attn.kv_b_proj.weight"]).view(T, H, dn + dv)  # head-major [k_nope | v]
    k_nope, v = kv[..., :dn], kv[..., dn:]
    scores = torch.einsum("thd,shd->hts", q_nope, k_nope) + torch.einsum("thd,sd->hts", q_pe, k_pe)
    scores = scores * sigma
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    scores = scores.masked_fill(mask, float("-inf"))
    P = torch.softmax(scores, dim=-1)
    o = torch.einsum("hts,shd->thd", P, v).reshape(T, H * dv)
    return linear(o, W[p + "self_attn.o_proj.weight"])


def swiglu_ffn(W, p, u):
    g = linear(u, W[p + "gate_proj.weight"])
    return linear(torch.nn.functional.silu(g) * linear(u, W[p + "up_proj.weight"]), W[p + "down_proj.weight"])


def route(cfg, W, p, u):
    """Routing of the T tokens u (docs/architecture.md §5.2 for V3; DeepSeek-V2's MoEGate for its topk_methods).
    Returns (idx [T, K], weights [T, K], group margin, expert margin)."""
    T, E = u.shape[0], cfg["n_routed_experts"]
    G, KG, K = cfg["n_group"], cfg["topk_group"], cfg["num_experts_per_tok"]
    method = cfg["topk_method"]
    z = linear(u, W[p + "mlp.gate.weight"])
    if method == "noaux_tc":  # V3: sigmoid, bias-corrected selection scores, group score = sum of the top-2
        s = torch.sigmoid(z)  # [T, E] original scores
        c = s + W[p + "mlp.gate.e_score_correction_bias"][None, :]
        gs = c.view(T, G, E // G).topk(2, dim=-1).values.sum(-1) if G > 1 else None
    else:  # V2: softmax over all experts, no bias; group_limited_greedy: group score = max, greedy: no groups
        s = torch.softmax(z, dim=-1)
        c = s
        gs = s.view(T, G, E // G).max(dim=-1).values if method == "group_limited_greedy" else None
    group_margin = math.inf
    if gs is not None:
        gs_sorted = gs.sort(dim=-1, descending=True).values
        keep = gs.topk(KG, dim=-1).indices
        gmask = torch.ones(T, G, dtype=torch.bool)
        gmask.scatter_(1, keep, False)
        # V2 masks with 0.0, V3 with -inf; softmax scores are > 0, so both leave the same top-K
        fill = float("-inf") if method == "noaux_tc" else 0.0
        cm = c.view(T, G, E // G).masked_fill(gmask[:, :, None], fill).view(T, E)
        if KG < G:
            group_margin = (gs_sorted[:, KG - 1] - gs_sorted[:, KG]).min().item()
    else:
        cm = c
    cm_sorted = cm.sort(dim=-1, descending=True).values
    idx = cm.topk(K, dim=-1).indices  # [T, K]
    w = s.gather(1, idx)
    if method == "noaux_tc":
        if cfg["norm_topk_prob"]:
            w = w / w.sum(-1, keepdim=True)
        w = w * cfg["routed_scaling_factor"]
    elif K > 1 and cfg["norm_topk_prob"]:  # V2: normalised weights are not scaled
        w = w / (w.sum(-1, keepdim=True) + 1e-20)
    else:
        w = w * cfg["routed_scaling_factor"]
    expert_margin = (cm_sorted[:, K - 1] - cm_sorted[:, K]).min().item()
    return idx, w, group_margin, expert_margin


def moe(cfg, W, p, u, record):
    """DeepSeekMoE: shared experts (unweighted) plus the routed experts' weighted outputs (docs/architecture.md §5.1)."""
    T, K = u.shape[0], cfg["num_experts_per_tok"]
    idx, w, group_margin, expert_margin = route(cfg, W, p, u)
    out = swiglu_ffn(W, p + "mlp.shared_experts.", u)
    for t in range(T):
        for j in range(K):
            out[t] += w[t, j] * swiglu_ffn(W, p + "mlp.experts.%d." % int(idx[t, j]), u[t:t + 1])[0]
    record.append({"idx": idx.sort(dim=-1).values.numpy().astype(np.int32),
                   "group_margin": group_margin, "expert_margin": expert_margin})
    return out


def block(cfg, W, layer, h, pos, f, sigma, record):
    p = "model.layers.%d." % layer
    eps = cfg["rms_norm_eps"]
    h = h + mla(cfg, W, p, rms_norm(h, W[p + "input_layernorm.weight"], eps), pos, f, sigma)
    u = rms_norm(h, W[p + "post_attention_layernorm.weight"], eps)
    if layer < cfg["first_k_dense_replace"]:
        return h + swiglu_ffn(W, p + "mlp.", u)
    return h + moe(cfg, W, p, u, record)


def forward(cfg, W, tokens):
    """Main model and MTP depth 1 (docs/architecture.md §6.1): returns a dict of float64 tensors and routing records."""
    f, sigma = yarn(cfg)
    eps, L = cfg["rms_norm_eps"], cfg["num_hidden_layers"]
    tok = torch.tensor(tokens)
    T = len(tokens)
    pos = torch.arange(T)
    h = W["model.embed_tokens.weight"][tok]
    hidden, rec = [h], []
    for layer in range(L):
        h = block(cfg, W, layer, h, pos, f, sigma, rec)
        hidden.append(h)
    hn = rms_norm(h, W["model.norm.weight"], eps)
    logits = linear(hn, W["lm_head.weight"])
    if cfg.get("num_nextn_predict_layers", 0) == 0:
        return {"logits": logits, "hidden": torch.stack(hidden), "rec": rec, "mrec": []}
    # MTP: slot i (0..T-2) pairs the post-norm main hidden h_i with token t_{i+1}; position i; embedding FIRST.
    p = "model.layers.%d." % L
    e = rms_norm(W["model.embed_tokens.weight"][tok[1:]], W[p + "enorm.weight"], eps)
    hh = rms_norm(hn[:-1], W[p + "hnorm.weight"], eps)
    x = linear(torch.cat([e, hh], dim=-1), W[p + "eh_proj.weight"])
    mrec = []
    x = block(cfg, W, L, x, torch.arange(T - 1), f, sigma, mrec)
    mtp_logits = linear(rms_norm(x, W[p + "shared_head.norm.weight"], eps), W["lm_head.weight"])
    return {"logits": logits, "hidden": torch.stack(hidden), "mtp_hidden": x, "mtp_logits": mtp_logits,
            "rec": rec, "mrec": mrec}


# ----------------------------------------------------------------------------------------------------------------
# Self-checks: structurally different second implementations that must agree with the ones above
# ----------------------------------------------------------------------------------------------------------------


def mla_absorbed(cfg, W, p, x, pos, f, sigma):
    """MLA in the absorbed / MQA form (docs/architecture.md §3.3), token by token with plain loops over heads; rotate-half RoPE on
    de-interleaved dims (docs/architecture.md §3.5, HF form) instead of the interleaved pairs."""
    T, H = x.shape[0], cfg["num_attention_heads"]
    dn, dr, dv, r = cfg["qk_nope_head_dim"], cfg["qk_rope_head_dim"], cfg["v_head_dim"], cfg["kv_lora_rank"]
    eps = cfg["rms_norm_eps"]
    perm = list(range(0, dr, 2)) + list(range(1, dr, 2))

    def rope_half(v, t):
        v = v[..., perm]
        ang = float(pos[t]) * f
        c, s = torch.cat([torch.cos(ang), torch.cos(ang)]), torch.cat([torch.sin(ang), torch.sin(ang)])
        rot = torch.cat([-v[..., dr // 2:], v[..., :dr // 2]], dim=-1)
        return v * c + rot * s

    Wkvb = W[p + "self_attn.kv_b_proj.weight"].view(H, dn + dv, r)
    cache_c, cache_pe, outs = [], [], []
    for t in range(T):
        xt = x[t]
        if cfg["q_lora_rank"] is None:
            q = W[p + "self_attn.q_proj.weight"] @ xt
        else:
            cq = rms_norm(W[p + "self_attn.q_a_proj.weight"] @ xt, W[p + "self_attn.q_a_layernorm.weight"], eps)
            q = W[p + "self_attn.q_b_proj.weight"] @ cq
        q = q.view(H, dn + dr)
        a = W[p + "self_attn.kv_a_proj_with_mqa.weight"] @ xt
        cache_c.append(rms_norm(a[:r], W[p + "self_attn.kv_a_layernorm.weight"], eps))
        cache_pe.append(rope_half(a[r:], t))
        C, PE = torch.stack(cache_c), torch.stack(cache_pe)
        o = []
        for h in range(H):
            q_abs = Wkvb[h, :dn, :].T @ q[h, :dn]
            sc = sigma * (C @ q_abs + PE @ rope_half(q[h, dn:], t))
            P = torch.softmax(sc, dim=0)
            o.append(Wkvb[h, dn:, :] @ (P @ C))
        outs.append(W[p + "self_attn.o_proj.weight"] @ torch.cat(o))
    return torch.stack(outs)


def moe_loop(cfg, W, p, u):
    """MoE routing with explicit per-token Python loops and sorting (docs/architecture.md §5.2; V2's MoEGate)."""
    E, G, KG, K = cfg["n_routed_experts"], cfg["n_group"], cfg["topk_group"], cfg["num_experts_per_tok"]
    method = cfg["topk_method"]
    gsz = E // G
    out = []
    for t in range(u.shape[0]):
        z = [float(W[p + "mlp.gate.weight"][e] @ u[t]) for e in range(E)]
        if method == "noaux_tc":
            s = [1 / (1 + math.exp(-v)) for v in z]
            c = [s[e] + float(W[p + "mlp.gate.e_score_correction_bias"][e]) for e in range(E)]
            gscore = [sum(sorted(c[g * gsz:(g + 1) * gsz], reverse=True)[:2]) for g in range(G)]
        else:
            m = max(z)
            ex = [math.exp(v - m) for v in z]
            s = [v / sum(ex) for v in ex]
            c = s
            gscore = [max(c[g * gsz:(g + 1) * gsz]) for g in range(G)]
        kept = range(G) if method == "greedy" or G == 1 else sorted(range(G), key=lambda g: -gscore[g])[:KG]
        cand = [e for e in range(E) if e // gsz in kept]
        sel = sorted(cand, key=lambda e: -c[e])[:K]
        if method == "noaux_tc":
            tot = sum(s[e] for e in sel) if cfg["norm_topk_prob"] else 1.0
            scale = cfg["routed_scaling_factor"]
        elif K > 1 and cfg["norm_topk_prob"]:
            tot, scale = sum(s[e] for e in sel), 1.0
        else:
            tot, scale = 1.0, cfg["routed_scaling_factor"]
        y = swiglu_ffn(W, p + "mlp.shared_experts.", u[t:t + 1])[0]
        for e in sel:
            y = y + (s[e] / tot * scale) * swiglu_ffn(W, p + "mlp.experts.%d." % e, u[t:t + 1])[0]
        out.append(y)
    return torch.stack(out)


def self_check(cfg, W, tokens):
    f, sigma = yarn(cfg)
    eps = cfg["rms_norm_eps"]
    pos = torch.arange(len(tokens))
    for layer in range(cfg["num_hidden_layers"] + cfg.get("num_nextn_predict_layers", 0)):
        p = "model.layers.%d." % layer
        x = rms_norm(W["model.embed_tokens.weight"][torch.tensor(tokens)], W[p + "input_layernorm.weight"], eps)
        a, b = mla(cfg, W, p, x, pos, f, sigma), mla_absorbed(cfg, W, p, x, pos, f, sigma)
        assert torch.allclose(a, b, rtol=1e-10, atol=1e-10), ("MLA naive vs absorbed", layer, (a - b).abs().max())
        if layer >= cfg["first_k_dense_replace"]:
            a, b = moe(cfg, W, p, x, []), moe_loop(cfg, W, p, x)
            assert torch.allclose(a, b, rtol=1e-10, atol=1e-10), ("MoE vectorized vs loop", layer, (a - b).abs().max())


# ----------------------------------------------------------------------------------------------------------------
# Weights
# ----------------------------------------------------------------------------------------------------------------


def linear_names(cfg, layer):
    """Names and [out, in] shapes of the Linear weights of layer `layer` (FP8 in the real checkpoint, docs/architecture.md §2.3)."""
    p = "model.layers.%d." % layer
    d, H = cfg["hidden_size"], cfg["num_attention_heads"]
    dn, dr, dv, r = cfg["qk_nope_head_dim"], cfg["qk_rope_head_dim"], cfg["v_head_dim"], cfg["kv_lora_rank"]
    out = []
    if cfg["q_lora_rank"] is None:
        out.append((p + "self_attn.q_proj.weight", (H * (dn + dr), d)))
    else:
        out.append((p + "self_attn.q_a_proj.weight", (cfg["q_lora_rank"], d)))
        out.append((p + "self_attn.q_b_proj.weight", (H * (dn + dr), cfg["q_lora_rank"])))
    out.append((p + "self_attn.kv_a_proj_with_mqa.weight", (r + dr, d)))
    out.append((p + "self_attn.kv_b_proj.weight", (H * (dn + dv), r)))
    out.append((p + "self_attn.o_proj.weight", (d, H * dv)))

    def ffn(q, inter):
        return [(q + "gate_proj.weight", (inter, d)), (q + "up_proj.weight", (inter, d)),
                (q + "down_proj.weight", (d, inter))]

    if layer < cfg["first_k_dense_replace"]:
        out += ffn(p + "mlp.", cfg["intermediate_size"])
    else:
        for e in range(cfg["n_routed_experts"]):
            out += ffn(p + "mlp.experts.%d." % e, cfg["moe_intermediate_size"])
        out += ffn(p + "mlp.shared_experts.", cfg["moe_intermediate_size"] * cfg["n_shared_experts"])
    return out


def param_shapes(cfg):
    """Name -> shape of every parameter the reference model reads (main layers, then the MTP layers without the
    embedding/head copies): the same names and shapes make_weights draws, listed without allocating them, so the
    parameters of a 1T-parameter config can be counted (tools/count_params.py)."""
    d, V, L = cfg["hidden_size"], cfg["vocab_size"], cfg["num_hidden_layers"]
    out = {"model.embed_tokens.weight": (V, d)}
    for layer in range(L + cfg.get("num_nextn_predict_layers", 0)):
        p = "model.layers.%d." % layer
        out[p + "input_layernorm.weight"] = (d,)
        out[p + "post_attention_layernorm.weight"] = (d,)
        if cfg["q_lora_rank"] is not None:
            out[p + "self_attn.q_a_layernorm.weight"] = (cfg["q_lora_rank"],)
        out[p + "self_attn.kv_a_layernorm.weight"] = (cfg["kv_lora_rank"],)
        for name, shape in linear_names(cfg, layer):
            out[name] = shape
        if layer >= cfg["first_k_dense_replace"]:
            out[p + "mlp.gate.weight"] = (cfg["n_routed_experts"], d)
            if cfg["topk_method"] == "noaux_tc":
                out[p + "mlp.gate.e_score_correction_bias"] = (cfg["n_routed_experts"],)
        if layer >= L:
            out[p + "enorm.weight"] = (d,)
            out[p + "hnorm.weight"] = (d,)
            out[p + "eh_proj.weight"] = (d, 2 * d)
            out[p + "shared_head.norm.weight"] = (d,)
    out["model.norm.weight"] = (d,)
    out["lm_head.weight"] = (V, d)
    return out


def make_weights(cfg, rng):
    """float32 master weights: Linear std 1/sqrt(fan_in), norms 1 + 0.1 N(0,1), embedding N(0,1),
    lm_head std 2/sqrt(hidden) (sharper logits), router std 1/sqrt(hidden), gate bias 0.1 N(0,1)."""
    d, V, L = cfg["hidden_size"], cfg["vocab_size"], cfg["num_hidden_layers"]
    W = {}

    def n(shape, std):
        return (rng.standard_normal(shape) * std).astype(np.float32)

    def norm(name, dim):
        W[name] = (1 + 0.1 * rng.standard_normal(dim)).astype(np.float32)

    W["model.embed_tokens.weight"] = n((V, d), 1.0)
    for layer in range(L + cfg.get("num_nextn_predict_layers", 0)):
        p = "model.layers.%d." % layer
        norm(p + "input_layernorm.weight", d)
        norm(p + "post_attention_layernorm.weight", d)
        if cfg["q_lora_rank"] is not None:
            norm(p + "self_attn.q_a_layernorm.weight", cfg["q_lora_rank"])
        norm(p + "self_attn.kv_a_layernorm.weight", cfg["kv_lora_rank"])
        for name, shape in linear_names(cfg, layer):
            W[name] = n(shape, 1 / math.sqrt(shape[1]))
        if layer >= cfg["first_k_dense_replace"]:
            W[p + "mlp.gate.weight"] = n((cfg["n_routed_experts"], d), 1 / math.sqrt(d))
            if cfg["topk_method"] == "noaux_tc":  # DeepSeek-V2's routers have no selection bias
                W[p + "mlp.gate.e_score_correction_bias"] = n(cfg["n_routed_experts"], 0.1)
        if layer >= L:
            norm(p + "enorm.weight", d)
            norm(p + "hnorm.weight", d)
            W[p + "eh_proj.weight"] = n((d, 2 * d), 1 / math.sqrt(2 * d))
            norm(p + "shared_head.norm.weight", d)
    norm("model.norm.weight", d)
    W["lm_head.weight"] = n((V, d), 2 / math.sqrt(d))
    return W


def store(cfg, W, fp8):
    """Returns (tensors to write, effective float32 weights the reference uses). Without fp8 everything is F32.
    With fp8: docs/architecture.md §2.3's FP8 Linears -> F8_E4M3 + F32 scale_inv, e_score_correction_bias F32, the rest BF16."""
    L = cfg["num_hidden_layers"]
    fp8_names = set()
    for layer in range(L + cfg.get("num_nextn_predict_layers", 0)):
        fp8_names.update(name for name, _ in linear_names(cfg, layer))
    tensors, eff = {}, {}
    for name, w in W.items():
        if not fp8 or name.endswith("e_score_correction_bias"):
            tensors[name] = ("F32", w.shape, w.astype("<f4"))
            eff[name] = w
        elif name in fp8_names:
            codes, scales = fp8_quantize(w)
            tensors[name] = ("F8_E4M3", w.shape, codes)
            tensors[name + "_scale_inv"] = ("F32", scales.shape, scales.astype("<f4"))
            eff[name] = fp8_dequantize(codes, scales)
        else:
            bits = bf16_bits(w)
            tensors[name] = ("BF16", w.shape, bits.astype("<u2"))
            eff[name] = bf16_value(bits)
    if cfg.get("num_nextn_predict_layers", 0) == 0:
        return tensors, eff
    # layer L's embed / head: exact copies of the main ones, as in the official checkpoint (docs/architecture.md §2.2)
    p = "model.layers.%d." % L
    tensors[p + "embed_tokens.weight"] = tensors["model.embed_tokens.weight"]
    tensors[p + "shared_head.head.weight"] = tensors["lm_head.weight"]
    return tensors, eff


# ----------------------------------------------------------------------------------------------------------------
# Cases
# ----------------------------------------------------------------------------------------------------------------


def config(**kw):
    """An HF DeepSeek-V3 config.json with every docs/architecture.md §2.1 field."""
    c = {
        "architectures": ["DeepseekV3ForCausalLM"],
        "model_type": "deepseek_v3",
        "vocab_size": 128,
        "hidden_size": 32,
        "intermediate_size": 64,
        "moe_intermediate_size": 12,
        "num_hidden_layers": 3,
        "first_k_dense_replace": 1,
        "moe_layer_freq": 1,
        "num_attention_heads": 4,
        "num_key_value_heads": 4,
        "q_lora_rank": 24,
        "kv_lora_rank": 16,
        "qk_nope_head_dim": 8,
        "qk_rope_head_dim": 16,
        "v_head_dim": 8,
        "n_routed_experts": 16,
        "n_shared_experts": 1,
        "num_experts_per_tok": 3,
        "n_group": 4,
        "topk_group": 2,
        "routed_scaling_factor": 2.5,
        "norm_topk_prob": True,
        "scoring_func": "sigmoid",
        "topk_method": "noaux_tc",
        "seq_aux": True,
        "aux_loss_alpha": 0.001,
        "hidden_act": "silu",
        "rms_norm_eps": 1e-6,
        "rope_theta": 10000.0,
        "max_position_embeddings": 4096,
        "rope_scaling": {"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 1024,
                         "beta_fast": 32, "beta_slow": 1, "mscale": 1.0, "mscale_all_dim": 1.0},
        "num_nextn_predict_layers": 1,
        "tie_word_embeddings": False,
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": 0,
        "eos_token_id": 1,
        "initializer_range": 0.02,
        "pretraining_tp": 1,
        "ep_size": 1,
        "use_cache": True,
        "torch_dtype": "float32",
    }
    for k, v in kw.items():
        if v is DROP:
            del c[k]
        elif k == "rope_scaling" and v is not None:
            c[k] = dict(c[k], **v)
        else:
            c[k] = v
    return c


DROP = object()  # config(field=DROP) leaves the field out (DeepSeek-V2's config.json has no MTP field)


def v2_config(**kw):
    """A DeepSeek-V2-style config.json: softmax router without selection bias, no MTP layers, V2's YaRN (mscale 0.707)."""
    base = dict(architectures=["DeepseekV2ForCausalLM"], model_type="deepseek_v2", scoring_func="softmax",
                topk_method="group_limited_greedy", norm_topk_prob=False, num_nextn_predict_layers=DROP,
                rope_scaling={"factor": 40.0, "original_max_position_embeddings": 4096, "mscale": 0.707,
                              "mscale_all_dim": 0.707}, max_position_embeddings=163840)
    base.update(kw)
    return config(**base)


CASES = {
    "yarn_qlora": dict(
        seed=1000, T=16, fp8=False,
        notes="q_lora_rank 24 (q_a_proj/q_a_layernorm/q_b_proj); YaRN factor 4, original 1024 -> ramp low 1 high 5 "
              "over the 8 rope frequencies; layer 0 dense, 1-2 MoE (16 experts, 4 groups, topk_group 2, top-3, "
              "1 shared, routed_scaling 2.5); MTP layer 3. All weights F32.",
        cfg=config()),
    "no_qlora": dict(
        seed=2000, T=12, fp8=False,
        notes="q_lora_rank null (q_proj); YaRN factor 8, original 4096, mscale = mscale_all_dim = 0.707 -> "
              "m = 0.1*0.707*ln 8 + 1; layers 0-1 dense, 2 MoE (8 experts, 2 groups, topk_group 1, top-2, "
              "2 shared experts = one SwiGLU of width 2*moe_intermediate_size, routed_scaling 1.5); MTP layer 3. "
              "All weights F32.",
        cfg=config(vocab_size=96, hidden_size=40, intermediate_size=72, moe_intermediate_size=16,
                   num_hidden_layers=3, first_k_dense_replace=2, num_attention_heads=3, num_key_value_heads=3,
                   q_lora_rank=None, kv_lora_rank=24, qk_nope_head_dim=16, qk_rope_head_dim=8, v_head_dim=12,
                   n_routed_experts=8, n_shared_experts=2, num_experts_per_tok=2, n_group=2, topk_group=1,
                   routed_scaling_factor=1.5, max_position_embeddings=32768,
                   rope_scaling={"factor": 8.0, "original_max_position_embeddings": 4096,
                                 "mscale": 0.707, "mscale_all_dim": 0.707})),
    "fp8": dict(
        seed=3000, T=10, fp8=True,
        notes="FP8 checkpoint layout (docs/architecture.md §2.3): attention and FFN Linears F8_E4M3 with F32 weight_scale_inv "
              "[ceil(out/128), ceil(in/128)] (partial edge blocks: hidden 160, q_lora 136, intermediate 136); "
              "e_score_correction_bias F32; embeddings, lm_head, norms, router, eh_proj BF16. Expected values "
              "use the dequantized weights (fp8 value * scale in float32) and the BF16 values. YaRN as V3 "
              "(factor 40, original 4096). Layer 0 dense, 1 MoE (8 experts, 4 groups, topk_group 3, top-2); MTP layer 2.",
        cfg=config(vocab_size=64, hidden_size=160, intermediate_size=136, moe_intermediate_size=24,
                   num_hidden_layers=2, first_k_dense_replace=1, num_attention_heads=2, num_key_value_heads=2,
                   q_lora_rank=136, kv_lora_rank=32, qk_nope_head_dim=16, qk_rope_head_dim=8, v_head_dim=16,
                   n_routed_experts=8, n_shared_experts=1, num_experts_per_tok=2, n_group=4, topk_group=3,
                   routed_scaling_factor=2.5, max_position_embeddings=163840,
                   rope_scaling={"factor": 40.0, "original_max_position_embeddings": 4096},
                   torch_dtype="bfloat16",
                   quantization_config={"activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8",
                                        "weight_block_size": [128, 128]})),
    "v2_group_limited": dict(
        seed=4000, T=12, fp8=False,
        notes="DeepSeek-V2 routing (its MoEGate): softmax scores, topk_method group_limited_greedy (group score = the "
              "group's largest score, 16 experts in 4 groups, topk_group 2, top-3), no selection bias, "
              "norm_topk_prob false, routed_scaling_factor 16 (as DeepSeek-V2); q_lora, YaRN factor 40 mscale 0.707; "
              "no MTP layer. All weights F32.",
        cfg=v2_config(routed_scaling_factor=16.0)),
    "v2_lite_greedy": dict(
        seed=5000, T=12, fp8=False,
        notes="DeepSeek-V2-Lite routing: softmax, topk_method greedy (plain top-2 of 8, groups ignored: n_group 1), "
              "norm_topk_prob false, routed_scaling_factor 1.0, 2 shared experts; q_lora_rank null (q_proj); no MTP.",
        cfg=v2_config(topk_method="greedy", n_group=1, topk_group=1, n_routed_experts=8, num_experts_per_tok=2,
                      n_shared_experts=2, routed_scaling_factor=1.0, q_lora_rank=None, vocab_size=96,
                      hidden_size=40, intermediate_size=72, moe_intermediate_size=16, num_hidden_layers=2)),
    "v2_norm_topk": dict(
        seed=6000, T=10, fp8=False,
        notes="DeepSeek-V2 code path with norm_topk_prob true: softmax, greedy top-3 of 16, weights normalised over "
              "the selected experts and NOT multiplied by routed_scaling_factor 16 (V2's MoEGate scales only without "
              "normalisation); plain RoPE; no MTP.",
        cfg=v2_config(topk_method="greedy", n_group=1, topk_group=1, norm_topk_prob=True, routed_scaling_factor=16.0,
                      rope_scaling=None, max_position_embeddings=4096, num_hidden_layers=2)),
    "moonlight": dict(
        seed=7000, T=12, fp8=False,
        notes="Moonlight-16B-A3B routing: DeepSeek-V3's sigmoid + bias noaux_tc with one group (n_group 1, "
              "topk_group 1: plain top-K on the biased scores), routed_scaling_factor 2.446, rope_theta 50000, "
              "rope_scaling null, q_lora_rank null, 2 shared experts, no MTP layer.",
        cfg=config(n_group=1, topk_group=1, routed_scaling_factor=2.446, rope_theta=50000.0, rope_scaling=None,
                   max_position_embeddings=8192, q_lora_rank=None, n_shared_experts=2, num_nextn_predict_layers=0,
                   rms_norm_eps=1e-5, num_hidden_layers=2)),
    "kimi_k2": dict(
        seed=8000, T=12, fp8=False,
        notes="Kimi-K2 routing: model_type kimi_k2, DeepSeek-V3's noaux_tc with one group (top-4 of 16), "
              "routed_scaling_factor 2.827, rope_theta 50000, YaRN factor 32 with beta_fast = beta_slow = 1 (the "
              "ramp collapses to a step), q_lora, no MTP layer.",
        cfg=config(model_type="kimi_k2", n_group=1, topk_group=1, num_experts_per_tok=4, routed_scaling_factor=2.827,
                   rope_theta=50000.0, max_position_embeddings=131072, num_nextn_predict_layers=0,
                   rope_scaling={"factor": 32.0, "original_max_position_embeddings": 4096, "beta_fast": 1.0,
                                 "beta_slow": 1.0, "mscale": 1.0, "mscale_all_dim": 1.0})),
}


def run_case(name, spec, out_dir):
    cfg = spec["cfg"]
    for attempt in range(200):
        seed = spec["seed"] + attempt
        rng = np.random.default_rng(seed)
        W = make_weights(cfg, rng)
        tokens = [int(t) for t in rng.integers(0, cfg["vocab_size"], spec["T"])]
        tensors, eff = store(cfg, W, spec["fp8"])
        Wt = {k: torch.from_numpy(v.astype(np.float64)) for k, v in eff.items()}
        r = forward(cfg, Wt, tokens)
        recs = r["rec"] + r["mrec"]
        gm = min(x["group_margin"] for x in recs)
        em = min(x["expert_margin"] for x in recs)
        if gm > MARGIN_MIN and em > MARGIN_MIN:
            break
    else:
        raise SystemExit("%s: no seed with routing margins > %g" % (name, MARGIN_MIN))
    self_check(cfg, Wt, tokens)
    assert {k: tuple(v.shape) for k, v in W.items()} == {k: tuple(v) for k, v in param_shapes(cfg).items()}, name
    d = os.path.join(out_dir, name)
    os.makedirs(d, exist_ok=True)
    write_json(os.path.join(d, "config.json"), cfg)
    write_safetensors(os.path.join(d, "model.safetensors"), tensors, {"format": "pt"})
    logits = r["logits"].numpy().astype(np.float32)
    mtp = bool(r["mrec"])
    mtp_logits = r["mtp_logits"].numpy().astype(np.float32) if mtp else np.zeros(0, dtype=np.float32)
    write_npy(os.path.join(d, "logits.npy"), logits)
    write_npy(os.path.join(d, "hidden_states.npy"), r["hidden"].numpy().astype(np.float32))
    write_npy(os.path.join(d, "topk.npy"), np.stack([x["idx"] for x in r["rec"]]).astype(np.int32))
    if mtp:
        write_npy(os.path.join(d, "mtp_logits.npy"), mtp_logits)
        write_npy(os.path.join(d, "mtp_hidden.npy"), r["mtp_hidden"].numpy().astype(np.float32))
        write_npy(os.path.join(d, "mtp_topk.npy"), r["mrec"][0]["idx"].astype(np.int32))
    rms = [float(x) for x in r["hidden"].pow(2).mean(dim=(1, 2)).sqrt()]
    lstd = float(logits.std())
    write_json(os.path.join(d, "case.json"), {
        "tokens": tokens,
        "notes": spec["notes"],
        "seed": seed,
        "logits_std": round(lstd, 6),
        "mtp_logits_std": round(float(mtp_logits.std()), 6) if mtp else None,
        "min_group_margin": round(gm, 6) if math.isfinite(gm) else None,
        "min_expert_margin": round(em, 6),
        "hidden_rms": [round(x, 6) for x in rms],
    })
    size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
    print("%-10s seed %d (attempt %d)  T=%d  logits std %.3f  mtp logits std %s  min group margin %s  "
          "min expert margin %.4f  hidden rms %s  files %d bytes"
          % (name, seed, attempt, len(tokens), lstd, "%.3f" % float(mtp_logits.std()) if mtp else "n/a",
             "%.4f" % gm if math.isfinite(gm) else "n/a", em, " ".join("%.2f" % x for x in rms), size))
    return size


# ----------------------------------------------------------------------------------------------------------------
# Oracles for the Java FP8 quantizer and the .npy reader
# ----------------------------------------------------------------------------------------------------------------


def fp8_oracle(out_dir):
    rng = np.random.default_rng(7)
    rows, cols = 130, 140  # 2 x 2 blocks, partial in both dims
    x = (rng.standard_normal((rows, cols)) * np.exp(rng.uniform(-3, 3, (rows, cols)))).astype(np.float32)
    x[0:128, 128:140] = 0.0  # an all-zero (partial) block: amax clamps to 1e-4
    x[128:130, 0:128] *= np.float32(1e-7)  # a tiny block, amax < 1e-4
    x[128:130, 128:140] *= np.float32(1e4)  # a large block
    codes, scales = fp8_quantize(x)
    pos = E4M3_POS.astype(np.float32)
    mids = ((E4M3_POS[:-1] + E4M3_POS[1:]) / 2).astype(np.float32)  # exact ties
    assert np.all(mids.astype(np.float64) == (E4M3_POS[:-1] + E4M3_POS[1:]) / 2)
    near = np.concatenate([np.nextafter(mids, np.float32(np.inf)), np.nextafter(mids, np.float32(-np.inf))])
    extra = np.array([0.0, -0.0, 448.0, 449.0, 463.99, 464.0, 465.0, 480.0, 1e6, np.inf, -np.inf, np.nan,
                      2.0 ** -10, 3 * 2.0 ** -10, 2.0 ** -9, 1e-30, -1e-30, 0.0009765625, 0.00146484375],
                     dtype=np.float32)
    rand = (rng.standard_normal(4096) * np.exp(rng.uniform(-12, 7, 4096))).astype(np.float32)
    sx = np.concatenate([pos, -pos, mids, -mids, near, -near, extra, rand]).astype(np.float32)
    sc = e4m3_encode(sx)
    # sanity of the oracle itself: exact values map to their own code, decode(encode(v)) is a nearest value
    assert np.all(sc[:len(pos)] == np.arange(len(pos)))
    fin = np.isfinite(sx)
    dec = E4M3[sc[fin] & 0x7F]
    a = np.minimum(np.abs(sx[fin]).astype(np.float64), 448.0)
    best = np.abs(E4M3_POS[None, :] - a[:, None]).min(axis=1)
    assert np.all(np.abs(dec - a) == best)
    os.makedirs(out_dir, exist_ok=True)
    write_safetensors(os.path.join(out_dir, "quant.safetensors"), {
        "x": ("F32", x.shape, x.astype("<f4")),
        "codes": ("U8", codes.shape, codes),
        "scale_inv": ("F32", scales.shape, scales.astype("<f4")),
        "special_x": ("F32", sx.shape, sx.astype("<f4")),
        "special_codes": ("U8", sc.shape, sc),
    }, {"format": "pt", "note": "E4M3FN oracle: codes = RNE-saturating e4m3 of x / scale per 128x128 block"})


def npy_oracle(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    write_npy(os.path.join(out_dir, "f4_2x3x4.npy"), (np.arange(24, dtype=np.float32).reshape(2, 3, 4) * 0.5 - 3))
    write_npy(os.path.join(out_dir, "f8_3.npy"), np.array([1.5, -2.25, 1e300], dtype=np.float64))
    write_npy(os.path.join(out_dir, "i4_2x2.npy"), np.array([[1, -2], [2147483647, -2147483648]], dtype=np.int32))
    write_npy(os.path.join(out_dir, "i8_5.npy"), np.array([0, -1, 2 ** 40, 7, -(2 ** 62)], dtype=np.int64))
    write_npy(os.path.join(out_dir, "f4_scalar.npy"), np.array(3.25, dtype=np.float32))
    write_npy(os.path.join(out_dir, "f4_0x3.npy"), np.zeros((0, 3), dtype=np.float32))
    write_npy(os.path.join(out_dir, "f4be_4.npy"), np.array([1, -2, 0.5, 1e-3], dtype=">f4"))
    write_npy(os.path.join(out_dir, "f4_fortran.npy"), np.asfortranarray(np.ones((2, 3), dtype=np.float32)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="src/test/resources/parity", help="parity fixture directory")
    ap.add_argument("--cases", default=",".join(CASES), help="comma-separated subset of " + ",".join(CASES))
    args = ap.parse_args()
    total = 0
    for name in args.cases.split(","):
        total += run_case(name, CASES[name], args.out)
    res = os.path.dirname(os.path.abspath(args.out))
    fp8_oracle(os.path.join(res, "fp8"))
    npy_oracle(os.path.join(res, "npy"))
    print("parity fixtures: %d bytes" % total)


if __name__ == "__main__":
    sys.exit(main())
