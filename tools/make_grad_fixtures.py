#!/usr/bin/env python3
"""Gradient fixtures for jseek's trainer: tiny DeepSeek-V3 models, a batch, and the loss and EVERY parameter gradient
that PyTorch autograd gives in float64.

The model code (MLA with YaRN RoPE, SwiGLU, RMSNorm, weights) is imported from tools/make_parity_fixtures.py, the
independent float64 forward written from docs/architecture.md; this script adds what training needs on top, written from the
report and docs/architecture.md (§5.2-§5.4, §6.1-§6.2):
  * MoE with the routing decision taken without gradient (piecewise constant) and the gating weights
    g = rsf * s_sel / sum(s_sel) kept differentiable, so gradients reach the router only through the selected scores;
  * the sequence-wise balance loss (docs/architecture.md §5.4): per MoE layer and sequence, alpha * sum_i f_i P_i, f_i = E/(K T) * count_i,
    P_i = mean_t s_it / sum_j s_jt; averaged over the sequences, summed over the MoE layers (main and MTP);
  * MTP depths k = 1..D: slot t (0..T-k-1) is eh_proj([enorm(Emb(tok[t+k])) ; hnorm(h_t)]) with h the previous
    depth's hidden (k = 1: main hidden after model.norm), a full block at positions 0..T-k-1, shared_head.norm,
    the main lm_head, CE against target[t+k];
  * loss = CE_main + lambda/D * sum_k CE_k + balance, CE = mean over the positions whose target is >= 0.

    /usr/bin/python3 tools/make_grad_fixtures.py --out src/test/resources/grad      # ~10 s, deterministic

Per case <out>/<case>/: config.json, model.safetensors (F32, HF names, MTP layers carry copies of embed/head),
grads.safetensors (F32 gradient of every trainable tensor, same names; the shared embedding/head once),
logits.npy (f32 [B*T, vocab] main logits), case.json (tokens, targets, B, T, lambda, alpha, losses, margins).
"""
import argparse
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_parity_fixtures as pf  # noqa: E402

torch.set_num_threads(1)
F64 = torch.float64


def moe_train(cfg, W, p, u, rec):
    """MoE (docs/architecture.md §5.2) on u [T, d]; appends (scores s [T, E] with grad, selection idx [T, K], margins) to rec."""
    T, E = u.shape[0], cfg["n_routed_experts"]
    G, KG, K = cfg["n_group"], cfg["topk_group"], cfg["num_experts_per_tok"]
    s = torch.sigmoid(pf.linear(u, W[p + "mlp.gate.weight"]))
    with torch.no_grad():
        c = s + W[p + "mlp.gate.e_score_correction_bias"][None, :]
        gs = c.view(T, G, E // G).topk(min(2, E // G), dim=-1).values.sum(-1)
        gsorted = gs.sort(dim=-1, descending=True).values
        keep = gs.topk(KG, dim=-1).indices
        gmask = torch.ones(T, G, dtype=torch.bool)
        gmask.scatter_(1, keep, False)
        cm = c.view(T, G, E // G).masked_fill(gmask[:, :, None], float("-inf")).view(T, E)
        csorted = cm.sort(dim=-1, descending=True).values
        idx = cm.topk(K, dim=-1).indices
        gmargin = (gsorted[:, KG - 1] - gsorted[:, KG]).min().item() if KG < G else math.inf
        emargin = (csorted[:, K - 1] - csorted[:, K]).min().item()
    w = s.gather(1, idx)
    if cfg["norm_topk_prob"]:
        w = w / (w.sum(-1, keepdim=True) + 1e-20)
    w = w * cfg["routed_scaling_factor"]
    if cfg["n_shared_experts"] > 0:
        out = pf.swiglu_ffn(W, p + "mlp.shared_experts.", u)
    else:
        out = torch.zeros_like(u)
    for e in range(E):
        rows, slots = (idx == e).nonzero(as_tuple=True)
        if rows.numel() == 0:
            continue
        y = pf.swiglu_ffn(W, p + "mlp.experts.%d." % e, u[rows])
        out = out.index_add(0, rows, w[rows, slots][:, None] * y)
    rec.append({"s": s, "idx": idx, "group_margin": gmargin, "expert_margin": emargin})
    return out


def balance(cfg, s, idx, alpha):
    """Sequence-wise balance loss of one sequence (docs/architecture.md §5.4)."""
    T, E = s.shape
    K = cfg["num_experts_per_tok"]
    f = torch.zeros(E, dtype=F64)
    f.index_add_(0, idx.reshape(-1), torch.ones(idx.numel(), dtype=F64))
    f = f * E / (K * T)
    P = (s / s.sum(-1, keepdim=True)).mean(0)
    return alpha * (f * P).sum()


def block(cfg, W, layer, h, pos, f, sigma, rec):
    p = "model.layers.%d." % layer
    eps = cfg["rms_norm_eps"]
    h = h + pf.mla(cfg, W, p, pf.rms_norm(h, W[p + "input_layernorm.weight"], eps), pos, f, sigma)
    u = pf.rms_norm(h, W[p + "post_attention_layernorm.weight"], eps)
    if layer < cfg["first_k_dense_replace"]:
        return h + pf.swiglu_ffn(W, p + "mlp.", u)
    return h + moe_train(cfg, W, p, u, rec)


def ce_sum(logits, targets):
    valid = targets >= 0
    if valid.sum() == 0:
        return logits.sum() * 0, 0
    lp = torch.log_softmax(logits[valid], dim=-1)
    return -lp.gather(1, targets[valid][:, None]).sum(), int(valid.sum())


def losses(cfg, W, tokens, targets, B, T, lam, alpha):
    """Returns (total, main CE, [MTP CE per depth], balance, main logits [B*T, V], routing records)."""
    f, sigma = pf.yarn(cfg)
    eps, L, D = cfg["rms_norm_eps"], cfg["num_hidden_layers"], cfg["num_nextn_predict_layers"]
    emb, head = W["model.embed_tokens.weight"], W["lm_head.weight"]
    main_sum, main_n = 0, 0
    mtp_sum, mtp_n = [0] * D, [0] * D
    bal = 0
    all_logits, recs = [], []
    for b in range(B):
        tok = torch.tensor(tokens[b * T:(b + 1) * T])
        tg = torch.tensor(targets[b * T:(b + 1) * T])
        rec = []
        h = emb[tok]
        for layer in range(L):
            h = block(cfg, W, layer, h, torch.arange(T), f, sigma, rec)
        hn = pf.rms_norm(h, W["model.norm.weight"], eps)
        logits = pf.linear(hn, head)
        all_logits.append(logits)
        s_, n_ = ce_sum(logits, tg)
        main_sum, main_n = main_sum + s_, main_n + n_
        prev = hn
        for k in range(1, D + 1):
            p = "model.layers.%d." % (L + k - 1)
            Tk = T - k
            e = pf.rms_norm(emb[tok[k:k + Tk]], W[p + "enorm.weight"], eps)
            hh = pf.rms_norm(prev[:Tk], W[p + "hnorm.weight"], eps)
            x = pf.linear(torch.cat([e, hh], dim=-1), W[p + "eh_proj.weight"])
            x = block(cfg, W, L + k - 1, x, torch.arange(Tk), f, sigma, rec)
            lk = pf.linear(pf.rms_norm(x, W[p + "shared_head.norm.weight"], eps), head)
            s_, n_ = ce_sum(lk, tg[k:k + Tk])
            mtp_sum[k - 1], mtp_n[k - 1] = mtp_sum[k - 1] + s_, mtp_n[k - 1] + n_
            prev = x
        for r in rec:
            bal = bal + balance(cfg, r["s"], r["idx"], alpha) / B
        recs += rec
    main = main_sum / max(main_n, 1)
    mtp = [mtp_sum[k] / max(mtp_n[k], 1) for k in range(D)]
    total = main + bal + (lam / D * sum(mtp) if D > 0 else 0)
    return total, main, mtp, bal, torch.cat(all_logits), recs


CASES = {
    "moe_yarn_mtp1": dict(
        seed=100, B=2, T=8, lam=0.3, alpha=0.01, ignore=[],
        notes="q_lora 24; YaRN factor 4, original 1024 (ramp 1..5 over 8 rope frequencies); layer 0 dense, layer 1 "
              "MoE (8 experts, 4 groups, topk_group 2, top-3, 1 shared, rsf 2.5, norm_topk_prob); MTP depth 1 "
              "(layer 2, MoE). Sequence-wise balance loss alpha 0.01, lambda 0.3.",
        cfg=pf.config(vocab_size=64, hidden_size=32, intermediate_size=48, moe_intermediate_size=12,
                      num_hidden_layers=2, first_k_dense_replace=1, num_attention_heads=4, num_key_value_heads=4,
                      q_lora_rank=24, kv_lora_rank=16, qk_nope_head_dim=8, qk_rope_head_dim=16, v_head_dim=8,
                      n_routed_experts=8, n_shared_experts=1, num_experts_per_tok=3, n_group=4, topk_group=2,
                      num_nextn_predict_layers=1)),
    "qproj_mtp2": dict(
        seed=200, B=3, T=6, lam=0.5, alpha=0.02, ignore=[4, 11],
        notes="q_lora null (q_proj); plain RoPE; one MoE layer (6 experts, 1 group, top-2, no norm_topk_prob, "
              "rsf 1.5, 2 shared experts = width 2*moe_intermediate); MTP depths 1 and 2 (layers 1, 2); targets 4 "
              "and 11 ignored (-1). Sequence-wise balance loss alpha 0.02, lambda 0.5.",
        cfg=pf.config(vocab_size=48, hidden_size=24, intermediate_size=32, moe_intermediate_size=8,
                      num_hidden_layers=1, first_k_dense_replace=0, num_attention_heads=3, num_key_value_heads=3,
                      q_lora_rank=None, kv_lora_rank=12, qk_nope_head_dim=8, qk_rope_head_dim=8, v_head_dim=8,
                      n_routed_experts=6, n_shared_experts=2, num_experts_per_tok=2, n_group=1, topk_group=1,
                      norm_topk_prob=False, routed_scaling_factor=1.5, num_nextn_predict_layers=2),
        plain_rope=True),
}


def run_case(name, spec, out_dir):
    cfg = dict(spec["cfg"])
    if spec.get("plain_rope"):
        cfg["rope_scaling"] = None
    B, T = spec["B"], spec["T"]
    L, D = cfg["num_hidden_layers"], cfg["num_nextn_predict_layers"]
    for attempt in range(200):
        seed = spec["seed"] + attempt
        rng = np.random.default_rng(seed)
        W = pf.make_weights(cfg, rng)
        tokens = [int(t) for t in rng.integers(0, cfg["vocab_size"], B * T)]
        targets = [tokens[i + 1] if (i + 1) % T else int(rng.integers(0, cfg["vocab_size"])) for i in range(B * T)]
        for i in spec["ignore"]:
            targets[i] = -1
        Wt = {k: torch.from_numpy(v.astype(np.float64)).requires_grad_(not k.endswith("e_score_correction_bias"))
              for k, v in W.items()}
        total, main, mtp, bal, logits, recs = losses(cfg, Wt, tokens, targets, B, T, spec["lam"], spec["alpha"])
        gm = min(r["group_margin"] for r in recs)
        em = min(r["expert_margin"] for r in recs)
        if gm > pf.MARGIN_MIN and em > pf.MARGIN_MIN:
            break
    else:
        raise SystemExit("%s: no seed with routing margins > %g" % (name, pf.MARGIN_MIN))
    total.backward()
    d = os.path.join(out_dir, name)
    os.makedirs(d, exist_ok=True)
    pf.write_json(os.path.join(d, "config.json"), cfg)
    tensors = {k: ("F32", v.shape, v.astype("<f4")) for k, v in W.items()}
    for k in range(D):  # MTP layers carry copies of the shared embedding / head (docs/architecture.md §2.2)
        p = "model.layers.%d." % (L + k)
        tensors[p + "embed_tokens.weight"] = tensors["model.embed_tokens.weight"]
        tensors[p + "shared_head.head.weight"] = tensors["lm_head.weight"]
    pf.write_safetensors(os.path.join(d, "model.safetensors"), tensors, {"format": "pt"})
    grads = {}
    for k, v in Wt.items():
        if v.requires_grad:
            g = v.grad.numpy() if v.grad is not None else np.zeros(v.shape)
            grads[k] = ("F32", tuple(v.shape), g.astype("<f4"))
    pf.write_safetensors(os.path.join(d, "grads.safetensors"), grads, {"format": "pt", "loss": "%.17g" % total.item()})
    pf.write_npy(os.path.join(d, "logits.npy"), logits.detach().numpy().astype(np.float32))
    pf.write_json(os.path.join(d, "case.json"), {
        "notes": spec["notes"], "seed": seed, "B": B, "T": T, "tokens": tokens, "targets": targets,
        "mtp_lambda": spec["lam"], "balance_alpha": spec["alpha"],
        "loss": total.item(), "main_ce": main.item(), "mtp_ce": [x.item() for x in mtp], "balance": bal.item(),
        "min_group_margin": round(gm, 6) if math.isfinite(gm) else None, "min_expert_margin": round(em, 6),
    })
    size = sum(os.path.getsize(os.path.join(d, x)) for x in os.listdir(d))
    print("%-14s seed %d  loss %.6f main %.6f mtp %s bal %.6f  margins %s / %.4f  %d tensors  %d bytes"
          % (name, seed, total.item(), main.item(), " ".join("%.6f" % x.item() for x in mtp), bal.item(),
             "%.4f" % gm if math.isfinite(gm) else "n/a", em, len(grads), size))
    return size


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="src/test/resources/grad")
    args = ap.parse_args()
    total = sum(run_case(n, s, args.out) for n, s in CASES.items())
    print("grad fixtures: %d bytes" % total)


if __name__ == "__main__":
    sys.exit(main())
