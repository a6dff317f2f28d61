package dev.jseek.train;

import dev.jseek.fp8.ScaleFormat;
import dev.jseek.fp8.TileQuantizer;
import dev.jseek.model.ModelConfig;

/**
 * Multi-head Latent Attention for training (docs/architecture.md §3.1, §3.2; naive "MHA mode"), one layer, on the arenas.
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
 *
 * <p>Recompute mode ({@link ActLayout#recompute()}, docs/architecture.md §7.1): c_qn, c_kvn (the two RMSNorm outputs), q, kv (the
 * up-projections) and k live in shared scratch slots of {@code acts}; {@link #backwardInput} recomputes q, kv and k
 * (norms from the saved input and rstd, then the same GEMMs and RoPE) before the attention backward, and
 * {@link #backwardWeights} recomputes c_qn and c_kvn. Their gradients keep per-layer offsets in {@code dacts}
 * (q, kv, c_qn, c_kvn; k's gradient is transient). The attention core accumulates its gradients into the scratch
 * offsets of {@code dacts}, which are then added to the per-layer ones; all results are bit-identical to the mode
 * that keeps everything.
 *
 * <p>FP8 ({@link Precision#FP8}; report §3.3.3): the attention output o, which is both the o_proj input and an
 * input of the attention backward, is cached in E5M6 with power-of-two scales (1x128 tiles) and its float copy is
 * transient; o_proj's Fprop quantizes o to E4M3 with power-of-two scales, backward dequantizes the E5M6 cache for the
 * attention backward and converts it to 128x1 E4M3 tiles (power-of-two scales) for o_proj's Wgrad.
 */
public final class Mla {
    private final Rotary rope;
    private final int dim, H, qr, kvr, nope, rd, vd, qk;
    private final float eps, scale;
    // parameter offsets
    final int wq, wqa, qNorm, wqb, wkva, kvNorm, wkvb, wo;
    // activation offsets
    final int cq, cqR, cqn, q, akv, kvR, ckvn, kpe, kv, k, lse, o;
    /** acts offsets of the recomputable buffers (equal to the dacts offsets above without recompute). */
    final int cqnA, qA, ckvnA, kvA;
    final boolean recompute;
    /** E5M6 cache of o (FP8 layout only). */
    final CacheSlot oC;
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
        int[] t = al.allocRecomputed(prefix + "c_q.normed", qr > 0 ? n * qr : 0, "mla.c_q.normed");
        cqnA = t[0]; cqn = t[1];
        t = al.allocRecomputed(prefix + "q", n * H * qk, "mla.q");
        qA = t[0]; q = t[1];
        akv = al.alloc(prefix + "kv_a", n * (kvr + rd));
        kvR = al.alloc(prefix + "c_kv.rstd", n);
        t = al.allocRecomputed(prefix + "c_kv.normed", n * kvr, "mla.c_kv.normed");
        ckvnA = t[0]; ckvn = t[1];
        kpe = al.alloc(prefix + "k_pe", n * rd);
        t = al.allocRecomputed(prefix + "kv", n * H * (nope + vd), "mla.kv");
        kvA = t[0]; kv = t[1];
        k = al.allocScratch(prefix + "k", n * H * qk, "mla.k");
        recompute = al.recompute();
        lse = al.alloc(prefix + "lse", n * H);
        o = al.allocFp8Scratch(prefix + "o", n * H * vd, "mla.o");
        oC = al.allocE5m6(prefix + "o", n, H * vd);
    }

    /** y = MLA(x), x and y [B*T, hidden] in acts. */
    public void forward(Arenas s, int x, int y, int B, int T) {
        int N = B * T;
        float[] p = s.params, a = s.acts;
        long t0 = Profiler.start();
        if (qr > 0) {
            Linear.forward(precision, a, cq, a, x, p, wqa, N, dim, qr);
            RmsNorm.forward(a, cqnA, qr, a, cq, qr, p, qNorm, a, cqR, N, qr, eps);
            Linear.forward(precision, a, qA, a, cqnA, p, wqb, N, qr, H * qk);
        } else {
            Linear.forward(precision, a, qA, a, x, p, wq, N, dim, H * qk);
        }
        rope.apply(a, qA + nope, N, H * qk, H, qk, T, false);
        Linear.forward(precision, a, akv, a, x, p, wkva, N, dim, kvr + rd);
        RmsNorm.forward(a, ckvnA, kvr, a, akv, kvr + rd, p, kvNorm, a, kvR, N, kvr, eps);
        for (int r = 0; r < N; r++) System.arraycopy(a, akv + r * (kvr + rd) + kvr, a, kpe + r * rd, rd);
        rope.apply(a, kpe, N, rd, 1, rd, T, false);
        Linear.forward(precision, a, kvA, a, ckvnA, p, wkvb, N, kvr, H * (nope + vd));
        assembleK(a, N);
        Profiler.stop(P_PROJ, t0);
        t0 = Profiler.start();
        CausalAttention.forward(a, qA, k, kvA + nope, H * (nope + vd), nope + vd, o, lse, B, T, H, qk, vd, scale,
                s.docs == null ? null : s.docs.starts(B, T));
        Profiler.stop(P_CORE, t0);
        t0 = Profiler.start();
        if (precision == Precision.FP8) {
            s.cache.storeE5m6(oC, 0, a, o, N);
            Linear.fp8Forward(a, y, TileQuantizer.activation(a, o, N, H * vd, ScaleFormat.UE8M0), p, wo, dim);
        } else {
            Linear.forward(precision, a, y, a, o, p, wo, N, H * vd, dim);
        }
        Profiler.stop(P_PROJ, t0);
    }

    /** k[r, h] = [kv[r, h, :nope] ; k_pe[r]] in acts (from the acts copy of kv). */
    private void assembleK(float[] a, int N) {
        TrainPool.forRange(N, TrainPool.grain(N, 16), (lo, hi, w) -> {
            for (int r = lo; r < hi; r++)
                for (int h = 0; h < H; h++) {
                    int ko = k + (r * H + h) * qk;
                    System.arraycopy(a, kvA + (r * H + h) * (nope + vd), a, ko, nope);
                    System.arraycopy(a, kpe + r * rd, a, ko + nope, rd);
                }
        });
    }

    /** Recompute mode: refills q (roped), kv and k in their acts scratch slots from the saved c_q / kv_a and rstd. */
    private void recomputeUpProjections(Arenas s, int xa, int N, int T) {
        float[] p = s.params, a = s.acts;
        if (qr > 0) {
            RmsNorm.recompute(a, cqnA, qr, a, cq, qr, p, qNorm, a, cqR, N, qr);
            Linear.forward(precision, a, qA, a, cqnA, p, wqb, N, qr, H * qk);
        } else {
            Linear.forward(precision, a, qA, a, xa, p, wq, N, dim, H * qk);
        }
        rope.apply(a, qA + nope, N, H * qk, H, qk, T, false);
        RmsNorm.recompute(a, ckvnA, kvr, a, akv, kvr + rd, p, kvNorm, a, kvR, N, kvr);
        Linear.forward(precision, a, kvA, a, ckvnA, p, wkvb, N, kvr, H * (nope + vd));
        assembleK(a, N);
    }

    /** Whether recompute mode needs this layer's input x in acts during {@link #backwardInput} (q_proj without LoRA). */
    boolean needsInputInBackward() { return recompute && qr == 0; }

    /** {@link #backwardInput} when x has the same offset in acts and dacts. */
    public void backwardInput(Arenas s, int x, int y, int B, int T) { backwardInput(s, x, x, y, B, T); }

    /**
     * dx += dMLA/dx^T dy (dy read at dacts[y], dx at dacts[x]); leaves Linear output gradients for
     * {@link #backwardWeights}. {@code xa}: x's offset in acts, read only in recompute mode without q LoRA.
     */
    public void backwardInput(Arenas s, int x, int xa, int y, int B, int T) {
        int N = B * T;
        float[] p = s.params, a = s.acts, d = s.dacts;
        long t0 = Profiler.start();
        if (recompute) {
            recomputeUpProjections(s, xa, N, T);
            // the attention core accumulates into the scratch gradients; start them at zero for this layer
            TrainPool.zero(d, qA, qA + N * H * qk);
            TrainPool.zero(d, kvA, kvA + N * H * (nope + vd));
            TrainPool.zero(d, k, k + N * H * qk);
        }
        if (precision == Precision.FP8) { // o from its E5M6 cache; its gradient lives in a shared slot
            s.cache.loadE5m6(oC, 0, N, a, o);
            TrainPool.zero(d, o, o + N * H * vd);
        }
        Linear.backwardInput(precision, d, o, d, y, p, wo, N, H * vd, dim);
        Profiler.stop(P_PROJ, t0);
        t0 = Profiler.start();
        CausalAttention.backward(a, d, qA, k, kvA + nope, H * (nope + vd), nope + vd, o, lse, B, T, H, qk, vd, scale,
                s.docs == null ? null : s.docs.starts(B, T));
        Profiler.stop(P_CORE, t0);
        t0 = Profiler.start();
        TrainPool.forRange(N, TrainPool.grain(N, 16), (lo, hi, w) -> {
            for (int r = lo; r < hi; r++)
                for (int h = 0; h < H; h++) {
                    int ko = k + (r * H + h) * qk, kvo = kvA + (r * H + h) * (nope + vd), po = kpe + r * rd;
                    for (int i = 0; i < nope; i++) d[kvo + i] += d[ko + i];
                    for (int i = 0; i < rd; i++) d[po + i] += d[ko + nope + i];
                }
        });
        if (recompute) { // per-layer gradients (zero before: 0 + g is exactly what the kept mode accumulates)
            addTo(d, q, qA, N * H * qk);
            addTo(d, kv, kvA, N * H * (nope + vd));
        }
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

    /** d[dst..+n) += d[src..+n), parallel. */
    private static void addTo(float[] d, int dst, int src, int n) {
        TrainPool.forRange(n, TrainPool.grain(n, 8192), (lo, hi, w) -> VecOps.add(d, dst + lo, d, dst + lo, d, src + lo, hi - lo));
    }

    /**
     * Weight gradients from the saved activations and the gradients left by {@link #backwardInput}. {@code x} is the
     * input's acts offset (it must hold the input: the caller recomputes it in recompute mode).
     */
    public void backwardWeights(Arenas s, int x, int y, int B, int T) {
        int N = B * T;
        float[] g = s.grads, a = s.acts, d = s.dacts, p = s.params;
        long t0 = Profiler.start();
        if (recompute) {
            if (qr > 0) RmsNorm.recompute(a, cqnA, qr, a, cq, qr, p, qNorm, a, cqR, N, qr);
            RmsNorm.recompute(a, ckvnA, kvr, a, akv, kvr + rd, p, kvNorm, a, kvR, N, kvr);
        }
        if (precision == Precision.FP8) {
            s.cache.loadE5m6(oC, 0, N, a, o);
            Linear.fp8BackwardWeight(g, wo, TileQuantizer.activation(d, y, N, dim, ScaleFormat.FP32), ScaleFormat.FP32,
                    TileQuantizer.wgradOperand(a, o, N, H * vd, ScaleFormat.UE8M0));
        } else {
            Linear.backwardWeight(precision, g, wo, d, y, a, o, N, H * vd, dim);
        }
        Linear.backwardWeight(precision, g, wkvb, d, kv, a, ckvnA, N, kvr, H * (nope + vd));
        RmsNorm.backwardWeight(g, kvNorm, d, ckvn, kvr, a, akv, kvr + rd, a, kvR, N, kvr);
        Linear.backwardWeight(precision, g, wkva, d, akv, a, x, N, dim, kvr + rd);
        if (qr > 0) {
            Linear.backwardWeight(precision, g, wqb, d, q, a, cqnA, N, qr, H * qk);
            RmsNorm.backwardWeight(g, qNorm, d, cqn, qr, a, cq, qr, a, cqR, N, qr);
            Linear.backwardWeight(precision, g, wqa, d, cq, a, x, N, dim, qr);
        } else {
            Linear.backwardWeight(precision, g, wq, d, q, a, x, N, dim, H * qk);
        }
        Profiler.stop(P_PROJ, t0);
    }
}
