package dev.jseek.train;

import dev.jseek.fp8.ScaleFormat;
import dev.jseek.fp8.TileQuantizer;
import dev.jseek.model.ModelConfig;

/**
 * Multi-head Latent Attention for training (report §2.1.1; docs/architecture.md §3.1, §3.2; naive "MHA mode"), one layer, on the arenas.
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
    // parameters (model.layers.L.self_attn.); wq without q LoRA, wqa/qNorm/wqb with it (the others null)
    final Param wq, wqa, qNorm, wqb, wkva, kvNorm, wkvb, wo;
    // activations, per row: c_q [qr], its rstd, RMSNorm(c_q) [qr], q [H*qk] (roped), kv_a = [c_kv | k_pe] [kvr+rd],
    // c_kv's rstd, RMSNorm(c_kv) [kvr], roped k_pe [rd], kv [H*(nope+vd)], k [H*qk], lse [H], o [H*vd]
    final Act cq, cqRstd, cqn, q, kva, kvRstd, ckvn, kpe, kv, k, lse, o;
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
            wq = null;
            wqa = pl.matrix(prefix + "q_a_proj.weight");
            qNorm = pl.vector(prefix + "q_a_layernorm.weight");
            wqb = pl.matrix(prefix + "q_b_proj.weight");
        } else {
            wq = pl.matrix(prefix + "q_proj.weight");
            wqa = qNorm = wqb = null;
        }
        wkva = pl.matrix(prefix + "kv_a_proj_with_mqa.weight");
        kvNorm = pl.vector(prefix + "kv_a_layernorm.weight");
        wkvb = pl.matrix(prefix + "kv_b_proj.weight");
        wo = pl.matrix(prefix + "o_proj.weight");
        long n = maxN;
        cq = al.act(prefix + "c_q", n, qr);
        cqRstd = al.act(prefix + "c_q.rstd", qr > 0 ? n : 0, 1);
        cqn = al.recomputed(prefix + "c_q.normed", n, qr, "mla.c_q.normed");
        q = al.recomputed(prefix + "q", n, H * qk, "mla.q");
        kva = al.act(prefix + "kv_a", n, kvr + rd);
        kvRstd = al.act(prefix + "c_kv.rstd", n, 1);
        ckvn = al.recomputed(prefix + "c_kv.normed", n, kvr, "mla.c_kv.normed");
        kpe = al.act(prefix + "k_pe", n, rd);
        kv = al.recomputed(prefix + "kv", n, H * (nope + vd), "mla.kv");
        k = al.scratch(prefix + "k", n, H * qk, "mla.k");
        recompute = al.recompute();
        lse = al.act(prefix + "lse", n, H);
        o = al.fp8Scratch(prefix + "o", n, H * vd, "mla.o");
        oC = al.cache(Fp8Recipe.ATTENTION_OUTPUT, prefix + "o", n, H * vd);
    }

    /** y = MLA(x), x and y [B*T, hidden] at acts offsets x, y (the equations are in the class comment). */
    public void forward(Arenas s, int x, int y, int B, int T) {
        int N = B * T;
        float[] a = s.acts;
        View xv = View.of(a, x, N, dim), yv = View.of(a, y, N, dim);
        long t0 = Profiler.start();
        if (qr > 0) {
            Linear.forward(precision, cq.value(s, N), xv, wqa.value(s));                                  // c_q = x Wqa^T
            RmsNorm.forward(cqn.value(s, N), cq.value(s, N), qNorm.value(s), cqRstd.value(s, N), eps);     // c_qn
            Linear.forward(precision, q.value(s, N), cqn.value(s, N), wqb.value(s));                       // q = c_qn Wqb^T
        } else {
            Linear.forward(precision, q.value(s, N), xv, wq.value(s));                                     // q = x Wq^T
        }
        rope.apply(a, q.acts() + nope, N, H * qk, H, qk, T, false);                                        // q_pe roped
        View kvav = kva.value(s, N);
        Linear.forward(precision, kvav, xv, wkva.value(s));                                                // [c_kv | k_pe]
        RmsNorm.forward(ckvn.value(s, N), kvav.cols(0, kvr), kvNorm.value(s), kvRstd.value(s, N), eps);    // c_kvn
        for (int r = 0; r < N; r++) System.arraycopy(a, kvav.row(r) + kvr, a, kpe.acts() + r * rd, rd);
        rope.apply(a, kpe.acts(), N, rd, 1, rd, T, false);                                                 // k_pe roped
        Linear.forward(precision, kv.value(s, N), ckvn.value(s, N), wkvb.value(s));                        // kv = c_kvn Wkvb^T
        assembleK(a, N);                                                                                   // k = [k_nope ; k_pe]
        Profiler.stop(P_PROJ, t0);
        t0 = Profiler.start();
        CausalAttention.forward(q.value(s, N), k.value(s, N), values(s, N), nope + vd, o.value(s, N), lse.value(s, N),
                B, T, scale, s.docs == null ? null : s.docs.starts(B, T));                                                                              // o = softmax(q k^T) v
        Profiler.stop(P_CORE, t0);
        t0 = Profiler.start();
        if (oC != null) { // FP8: o cached per Fp8Recipe.ATTENTION_OUTPUT
            s.cache.storeE5m6(oC, 0, a, o.acts(), N);
            Linear.fp8Forward(yv, TileQuantizer.activation(a, o.acts(), N, H * vd, Fp8Recipe.O_PROJ_INPUT.scales()), wo.value(s));
        } else {
            Linear.forward(precision, yv, o.value(s, N), wo.value(s));                                     // y = o Wo^T
        }
        Profiler.stop(P_PROJ, t0);
    }

    /** v inside kv: per row, head h's v at columns h*(nope+vd) + nope .. + vd (the attention's head stride nope+vd). */
    private View values(Arenas s, int N) { return kv.value(s, N).cols(nope, H * (nope + vd) - nope); }

    /** k[r, h] = [kv[r, h, :nope] ; k_pe[r]] in acts (from the acts copy of kv). */
    private void assembleK(float[] a, int N) {
        int ka = k.acts(), kvo0 = kv.acts(), pe = kpe.acts();
        TrainPool.forRange(N, TrainPool.grain(N, 16), (lo, hi, w) -> {
            for (int r = lo; r < hi; r++)
                for (int h = 0; h < H; h++) {
                    int ko = ka + (r * H + h) * qk;
                    System.arraycopy(a, kvo0 + (r * H + h) * (nope + vd), a, ko, nope);
                    System.arraycopy(a, pe + r * rd, a, ko + nope, rd);
                }
        });
    }

    /** Recompute mode: refills q (roped), kv and k in their acts scratch slots from the saved c_q / kv_a and rstd. */
    private void recomputeUpProjections(Arenas s, int xa, int N, int T) {
        if (qr > 0) {
            RmsNorm.recompute(cqn.value(s, N), cq.value(s, N), qNorm.value(s), cqRstd.value(s, N));
            Linear.forward(precision, q.value(s, N), cqn.value(s, N), wqb.value(s));
        } else {
            Linear.forward(precision, q.value(s, N), View.of(s.acts, xa, N, dim), wq.value(s));
        }
        rope.apply(s.acts, q.acts() + nope, N, H * qk, H, qk, T, false);
        RmsNorm.recompute(ckvn.value(s, N), kva.value(s, N).cols(0, kvr), kvNorm.value(s), kvRstd.value(s, N));
        Linear.forward(precision, kv.value(s, N), ckvn.value(s, N), wkvb.value(s));
        assembleK(s.acts, N);
    }

    /** Whether recompute mode needs this layer's input x in acts during {@link #backwardInput} (q_proj without LoRA). */
    boolean needsInputInBackward() { return recompute && qr == 0; }

    /** {@link #backwardInput} when x has the same offset in acts and dacts. */
    public void backwardInput(Arenas s, int x, int y, int B, int T) { backwardInput(s, x, x, y, B, T); }

    /**
     * Input part of backward, the forward in reverse: do = dy Wo; the attention core gives dq, dk, dv; dk splits into
     * k_nope (into dkv) and k_pe (un-roped into kv_a's rope part); dc_kvn = dkv Wkvb, through the kv norm into
     * dkv_a; dx += dkv_a Wkva; dq un-roped; dc_qn = dq Wqb, through the q norm, dx += dc_q Wqa (or dx += dq Wq).
     * dy is read at dacts[y], dx accumulated at dacts[x]; leaves every Linear output's gradient for
     * {@link #backwardWeights}. {@code xa}: x's offset in acts, read only in recompute mode without q LoRA.
     */
    public void backwardInput(Arenas s, int x, int xa, int y, int B, int T) {
        int N = B * T;
        float[] a = s.acts, d = s.dacts;
        View dx = View.of(d, x, N, dim), dy = View.of(d, y, N, dim);
        long t0 = Profiler.start();
        if (recompute) {
            recomputeUpProjections(s, xa, N, T);
            // the attention core accumulates into the scratch gradients; start them at zero for this layer
            zero(q.scratchGrad(s, N));
            zero(kv.scratchGrad(s, N));
            zero(k.grad(s, N));
        }
        if (oC != null) { // o from its E5M6 cache (Fp8Recipe.ATTENTION_OUTPUT); its gradient lives in a shared slot
            s.cache.loadE5m6(oC, 0, N, a, o.acts());
            zero(o.grad(s, N));
        }
        Linear.backwardInput(precision, o.grad(s, N), dy, wo.value(s));                                    // do = dy Wo
        Profiler.stop(P_PROJ, t0);
        t0 = Profiler.start();
        CausalAttention.backward(q.value(s, N), k.value(s, N), values(s, N), nope + vd, o.value(s, N), lse.value(s, N), d,
                B, T, scale, s.docs == null ? null : s.docs.starts(B, T));                                                                              // dq, dk, dv
        Profiler.stop(P_CORE, t0);
        t0 = Profiler.start();
        int ka = k.acts(), kvs = kv.acts(), pe = kpe.dacts();
        TrainPool.forRange(N, TrainPool.grain(N, 16), (lo, hi, w) -> {                                     // dk -> dkv, dk_pe
            for (int r = lo; r < hi; r++)
                for (int h = 0; h < H; h++) {
                    int ko = ka + (r * H + h) * qk, kvo = kvs + (r * H + h) * (nope + vd), po = pe + r * rd;
                    for (int i = 0; i < nope; i++) d[kvo + i] += d[ko + i];
                    for (int i = 0; i < rd; i++) d[po + i] += d[ko + nope + i];
                }
        });
        if (recompute) { // per-layer gradients (zero before: 0 + g is exactly what the kept mode accumulates)
            addTo(q.grad(s, N), q.scratchGrad(s, N));
            addTo(kv.grad(s, N), kv.scratchGrad(s, N));
        }
        rope.apply(d, kpe.dacts(), N, rd, 1, rd, T, true);
        View dkva = kva.grad(s, N);
        for (int r = 0; r < N; r++) {
            int ao = dkva.row(r) + kvr, po = kpe.dacts() + r * rd;
            for (int i = 0; i < rd; i++) d[ao + i] += d[po + i];
        }
        Linear.backwardInput(precision, ckvn.grad(s, N), kv.grad(s, N), wkvb.value(s));                    // dc_kvn = dkv Wkvb
        RmsNorm.backwardInput(dkva.cols(0, kvr), ckvn.grad(s, N), kva.value(s, N).cols(0, kvr), kvNorm.value(s), kvRstd.value(s, N));
        Linear.backwardInput(precision, dx, dkva, wkva.value(s));                                          // dx += dkv_a Wkva
        rope.apply(d, q.dacts() + nope, N, H * qk, H, qk, T, true);
        if (qr > 0) {
            Linear.backwardInput(precision, cqn.grad(s, N), q.grad(s, N), wqb.value(s));                    // dc_qn = dq Wqb
            RmsNorm.backwardInput(cq.grad(s, N), cqn.grad(s, N), cq.value(s, N), qNorm.value(s), cqRstd.value(s, N));
            Linear.backwardInput(precision, dx, cq.grad(s, N), wqa.value(s));                               // dx += dc_q Wqa
        } else {
            Linear.backwardInput(precision, dx, q.grad(s, N), wq.value(s));                                 // dx += dq Wq
        }
        Profiler.stop(P_PROJ, t0);
    }

    private static void zero(View v) { TrainPool.zero(v.a(), v.off(), v.off() + v.size()); }

    /** dst += src (contiguous, same shape), parallel. */
    private static void addTo(View dst, View src) {
        float[] d = dst.a();
        int o = dst.off(), so = src.off(), n = dst.size();
        TrainPool.forRange(n, TrainPool.grain(n, 8192), (lo, hi, w) -> VecOps.add(d, o + lo, d, o + lo, src.a(), so + lo, hi - lo));
    }

    /**
     * Weight part of backward, from the saved activations and the gradients left by {@link #backwardInput}:
     * dWo += dy^T o, dWkvb += dkv^T c_kvn, dw_kvnorm, dWkva += dkv_a^T x, then the q side. {@code x} is the input's acts
     * offset (it must hold the input: the caller recomputes it in recompute mode).
     */
    public void backwardWeights(Arenas s, int x, int y, int B, int T) {
        int N = B * T;
        float[] a = s.acts, d = s.dacts;
        View xv = View.of(a, x, N, dim), dy = View.of(d, y, N, dim);
        long t0 = Profiler.start();
        if (recompute) {
            if (qr > 0) RmsNorm.recompute(cqn.value(s, N), cq.value(s, N), qNorm.value(s), cqRstd.value(s, N));
            RmsNorm.recompute(ckvn.value(s, N), kva.value(s, N).cols(0, kvr), kvNorm.value(s), kvRstd.value(s, N));
        }
        if (oC != null) { // FP8: o cached per Fp8Recipe.ATTENTION_OUTPUT
            s.cache.loadE5m6(oC, 0, N, a, o.acts());
            ScaleFormat gradFmt = Fp8Recipe.OUTPUT_GRAD.scales();
            Linear.fp8BackwardWeight(wo.grad(s), TileQuantizer.activation(d, y, N, dim, gradFmt), gradFmt,
                    TileQuantizer.wgradOperand(a, o.acts(), N, H * vd, Fp8Recipe.ATTENTION_OUTPUT.scales()));
        } else {
            Linear.backwardWeight(precision, wo.grad(s), dy, o.value(s, N));
        }
        Linear.backwardWeight(precision, wkvb.grad(s), kv.grad(s, N), ckvn.value(s, N));
        RmsNorm.backwardWeight(kvNorm.grad(s), ckvn.grad(s, N), kva.value(s, N).cols(0, kvr), kvRstd.value(s, N));
        Linear.backwardWeight(precision, wkva.grad(s), kva.grad(s, N), xv);
        if (qr > 0) {
            Linear.backwardWeight(precision, wqb.grad(s), q.grad(s, N), cqn.value(s, N));
            RmsNorm.backwardWeight(qNorm.grad(s), cqn.grad(s, N), cq.value(s, N), cqRstd.value(s, N));
            Linear.backwardWeight(precision, wqa.grad(s), cq.grad(s, N), xv);
        } else {
            Linear.backwardWeight(precision, wq.grad(s), q.grad(s, N), xv);
        }
        Profiler.stop(P_PROJ, t0);
    }
}
