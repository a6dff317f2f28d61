package dev.jseek.train;

import dev.jseek.model.ModelConfig;

/**
 * Multi-head Latent Attention for training (spec B.1, B.2; naive "MHA mode"), one layer, on the arenas.
 * Parameters (prefix {@code model.layers.L.self_attn.}): q_a_proj, q_a_layernorm, q_b_proj (or q_proj when
 * q_lora_rank is 0), kv_a_proj_with_mqa, kv_a_layernorm, kv_b_proj, o_proj.
 *
 * <p>Forward, N = B*T rows of x (the attn-normed hidden):
 * c_q = x Wqa^T, c_qn = RMSNorm(c_q), q = c_qn Wqb^T viewed [N, H, nope+rope], q_pe roped;
 * a = x Wkva^T = [c_kv | k_pe], k_pe roped, c_kvn = RMSNorm(c_kv), kv = c_kvn Wkvb^T viewed [N, H, nope+v]
 * (head-major [k_nope | v]); k = [k_nope ; k_pe broadcast]; causal softmax with scale qk_head_dim^-0.5 m^2;
 * y = o Wo^T. Saved: c_q, r_q, c_qn, roped q, a, r_kv, c_kvn, roped k_pe, kv, k, lse, o.
 *
 * <p>{@link #backwardInput} accumulates dx from dy and leaves the gradients of every Linear output in
 * {@code dacts}; {@link #backwardWeights} turns those into weight gradients (they can run later, e.g. DualPipe's W).
 */
public final class Mla {
    private final Rotary rope;
    private final int dim, H, qr, kvr, nope, rd, vd, qk;
    private final float eps, scale;
    // parameter offsets
    final int wq, wqa, qNorm, wqb, wkva, kvNorm, wkvb, wo;
    // activation offsets
    final int cq, cqR, cqn, q, akv, kvR, ckvn, kpe, kv, k, lse, o;
    static final int P_PROJ = Profiler.section("mla projections + rope + norms"), P_CORE = Profiler.section("mla attention core");
    /** GEMM precision of the five projections ({@link Precision}). */
    Precision precision = Precision.FP32;

    public Mla(ModelConfig c, String prefix, ParamLayout pl, ActLayout al, int maxN, Rotary rope) {
        this.rope = rope;
        dim = c.hiddenSize(); H = c.numAttentionHeads(); qr = c.hasQLora() ? c.qLoraRank() : 0; kvr = c.kvLoraRank();
        nope = c.qkNopeHeadDim(); rd = c.qkRopeHeadDim(); vd = c.vHeadDim(); qk = c.qkHeadDim();
        eps = (float) c.rmsNormEps();
        scale = (float) c.softmaxScale();
        if (qr > 0) {
            wq = -1;
            wqa = pl.add(prefix + "q_a_proj.weight", true, qr, dim);
            qNorm = pl.add(prefix + "q_a_layernorm.weight", true, qr);
            wqb = pl.add(prefix + "q_b_proj.weight", true, H * qk, qr);
        } else {
            wq = pl.add(prefix + "q_proj.weight", true, H * qk, dim);
            wqa = qNorm = wqb = -1;
        }
        wkva = pl.add(prefix + "kv_a_proj_with_mqa.weight", true, kvr + rd, dim);
        kvNorm = pl.add(prefix + "kv_a_layernorm.weight", true, kvr);
        wkvb = pl.add(prefix + "kv_b_proj.weight", true, H * (nope + vd), kvr);
        wo = pl.add(prefix + "o_proj.weight", true, dim, H * vd);
        long n = maxN;
        cq = al.alloc(prefix + "c_q", qr > 0 ? n * qr : 0);
        cqR = al.alloc(prefix + "c_q.rstd", qr > 0 ? n : 0);
        cqn = al.alloc(prefix + "c_q.normed", qr > 0 ? n * qr : 0);
        q = al.alloc(prefix + "q", n * H * qk);
        akv = al.alloc(prefix + "kv_a", n * (kvr + rd));
        kvR = al.alloc(prefix + "c_kv.rstd", n);
        ckvn = al.alloc(prefix + "c_kv.normed", n * kvr);
        kpe = al.alloc(prefix + "k_pe", n * rd);
        kv = al.alloc(prefix + "kv", n * H * (nope + vd));
        k = al.alloc(prefix + "k", n * H * qk);
        lse = al.alloc(prefix + "lse", n * H);
        o = al.alloc(prefix + "o", n * H * vd);
    }

    /** y = MLA(x), x and y [B*T, hidden] in acts. */
    public void forward(Arenas s, int x, int y, int B, int T) {
        int N = B * T;
        float[] p = s.params, a = s.acts;
        long t0 = Profiler.start();
        if (qr > 0) {
            Linear.forward(precision, a, cq, a, x, p, wqa, N, dim, qr);
            RmsNorm.forward(a, cqn, qr, a, cq, qr, p, qNorm, a, cqR, N, qr, eps);
            Linear.forward(precision, a, q, a, cqn, p, wqb, N, qr, H * qk);
        } else {
            Linear.forward(precision, a, q, a, x, p, wq, N, dim, H * qk);
        }
        rope.apply(a, q + nope, N, H * qk, H, qk, T, false);
        Linear.forward(precision, a, akv, a, x, p, wkva, N, dim, kvr + rd);
        RmsNorm.forward(a, ckvn, kvr, a, akv, kvr + rd, p, kvNorm, a, kvR, N, kvr, eps);
        for (int r = 0; r < N; r++) System.arraycopy(a, akv + r * (kvr + rd) + kvr, a, kpe + r * rd, rd);
        rope.apply(a, kpe, N, rd, 1, rd, T, false);
        Linear.forward(precision, a, kv, a, ckvn, p, wkvb, N, kvr, H * (nope + vd));
        TrainPool.forRange(N, TrainPool.grain(N, 16), (lo, hi, w) -> {
            for (int r = lo; r < hi; r++)
                for (int h = 0; h < H; h++) {
                    int ko = k + (r * H + h) * qk;
                    System.arraycopy(a, kv + (r * H + h) * (nope + vd), a, ko, nope);
                    System.arraycopy(a, kpe + r * rd, a, ko + nope, rd);
                }
        });
        Profiler.stop(P_PROJ, t0);
        t0 = Profiler.start();
        CausalAttention.forward(a, q, k, kv + nope, H * (nope + vd), nope + vd, o, lse, B, T, H, qk, vd, scale);
        Profiler.stop(P_CORE, t0);
        t0 = Profiler.start();
        Linear.forward(precision, a, y, a, o, p, wo, N, H * vd, dim);
        Profiler.stop(P_PROJ, t0);
    }

    /** dx += dMLA/dx^T dy (dy read at dacts[y]); leaves Linear output gradients for {@link #backwardWeights}. */
    public void backwardInput(Arenas s, int x, int y, int B, int T) {
        int N = B * T;
        float[] p = s.params, a = s.acts, d = s.dacts;
        long t0 = Profiler.start();
        Linear.backwardInput(precision, d, o, d, y, p, wo, N, H * vd, dim);
        Profiler.stop(P_PROJ, t0);
        t0 = Profiler.start();
        CausalAttention.backward(a, d, q, k, kv + nope, H * (nope + vd), nope + vd, o, lse, B, T, H, qk, vd, scale);
        Profiler.stop(P_CORE, t0);
        t0 = Profiler.start();
        TrainPool.forRange(N, TrainPool.grain(N, 16), (lo, hi, w) -> {
            for (int r = lo; r < hi; r++)
                for (int h = 0; h < H; h++) {
                    int ko = k + (r * H + h) * qk, kvo = kv + (r * H + h) * (nope + vd), po = kpe + r * rd;
                    for (int i = 0; i < nope; i++) d[kvo + i] += d[ko + i];
                    for (int i = 0; i < rd; i++) d[po + i] += d[ko + nope + i];
                }
        });
        rope.apply(d, kpe, N, rd, 1, rd, T, true);
        for (int r = 0; r < N; r++) {
            int ao = akv + r * (kvr + rd) + kvr, po = kpe + r * rd;
            for (int i = 0; i < rd; i++) d[ao + i] += d[po + i];
        }
        Linear.backwardInput(precision, d, ckvn, d, kv, p, wkvb, N, kvr, H * (nope + vd));
        RmsNorm.backwardInput(d, akv, kvr + rd, d, ckvn, kvr, a, akv, kvr + rd, p, kvNorm, a, kvR, N, kvr);
        Linear.backwardInput(precision, d, x, d, akv, p, wkva, N, dim, kvr + rd);
        rope.apply(d, q + nope, N, H * qk, H, qk, T, true);
        if (qr > 0) {
            Linear.backwardInput(precision, d, cqn, d, q, p, wqb, N, qr, H * qk);
            RmsNorm.backwardInput(d, cq, qr, d, cqn, qr, a, cq, qr, p, qNorm, a, cqR, N, qr);
            Linear.backwardInput(precision, d, x, d, cq, p, wqa, N, dim, qr);
        } else {
            Linear.backwardInput(precision, d, x, d, q, p, wq, N, dim, H * qk);
        }
        Profiler.stop(P_PROJ, t0);
    }

    /** Weight gradients from the saved activations and the gradients left by {@link #backwardInput}. */
    public void backwardWeights(Arenas s, int x, int y, int B, int T) {
        int N = B * T;
        float[] g = s.grads, a = s.acts, d = s.dacts;
        long t0 = Profiler.start();
        Linear.backwardWeight(precision, g, wo, d, y, a, o, N, H * vd, dim);
        Linear.backwardWeight(precision, g, wkvb, d, kv, a, ckvn, N, kvr, H * (nope + vd));
        RmsNorm.backwardWeight(g, kvNorm, d, ckvn, kvr, a, akv, kvr + rd, a, kvR, N, kvr);
        Linear.backwardWeight(precision, g, wkva, d, akv, a, x, N, dim, kvr + rd);
        if (qr > 0) {
            Linear.backwardWeight(precision, g, wqb, d, q, a, cqn, N, qr, H * qk);
            RmsNorm.backwardWeight(g, qNorm, d, cqn, qr, a, cq, qr, a, cqR, N, qr);
            Linear.backwardWeight(precision, g, wqa, d, cq, a, x, N, dim, qr);
        } else {
            Linear.backwardWeight(precision, g, wq, d, q, a, x, N, dim, H * qk);
        }
        Profiler.stop(P_PROJ, t0);
    }
}
