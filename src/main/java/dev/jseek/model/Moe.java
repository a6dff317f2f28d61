package dev.jseek.model;

import dev.jseek.kernels.Gemm;
import dev.jseek.kernels.Ops;
import dev.jseek.kernels.Parallel;
import dev.jseek.model.StepProfile.Phase;
import dev.jseek.model.Workspace.Buf;
import dev.jseek.tensor.Matrix;

/**
 * DeepSeekMoE FFN (report §2.1.2): y = Σ_{i ∈ top-k} g_i · FFN_i(u) + FFN_shared(u). For a batch of tokens the routed part
 * is computed expert by expert: the tokens routed to an expert are gathered, run through it as one GEMM batch, and
 * their weighted outputs are added back in FP32 (ascending expert id). The shared expert (width
 * n_shared_experts · moe_intermediate_size) is added with weight 1. With few tokens (decode) all the selected experts
 * run side by side in two parallel jobs ({@link #forwardSideBySide}), with the same values.
 *
 * @param shared the shared expert, or null when n_shared_experts = 0
 */
public record Moe(Gate gate, Mlp[] experts, Mlp shared) implements FeedForward {
    /** Loads the router, routed and shared experts of {@code layer} of the {@link TensorSchema}. */
    public static Moe load(WeightSource w, TensorSchema s, int layer) {
        ModelConfig cfg = s.config();
        Mlp[] experts = new Mlp[cfg.nRoutedExperts()];
        for (int e = 0; e < experts.length; e++)
            experts[e] = Mlp.load(w, s.expert(layer, e, TensorSchema.Slot.EXPERT_GATE), s.expert(layer, e, TensorSchema.Slot.EXPERT_UP),
                    s.expert(layer, e, TensorSchema.Slot.EXPERT_DOWN));
        Mlp shared = cfg.nSharedExperts() == 0 ? null
                : Mlp.load(w, s.get(layer, TensorSchema.Slot.SHARED_GATE), s.get(layer, TensorSchema.Slot.SHARED_UP),
                        s.get(layer, TensorSchema.Slot.SHARED_DOWN));
        return new Moe(Gate.load(w, s, layer), experts, shared);
    }

    @Override public void forward(float[] x, int m, float[] out, Workspace ws) {
        int dim = gate.weight().cols(), k = gate.topK(), n = experts.length;
        int[] idx = ws.i(Buf.MOE_IDX, m * k);
        float[] w = ws.f(Buf.MOE_W, m * k);
        gate.forward(x, m, idx, w, ws);
        int[] start = ws.i(Buf.MOE_COUNT, 2 * n + 1), order = ws.i(Buf.MOE_ORDER, m * k);
        bucket(idx, m * k, start, order);

        if (m <= Gemm.GEMV_MAX_M) {
            forwardSideBySide(x, m, out, ws, start, order, w, Gemm.GEMV_MAX_M, null, 0);
            return;
        }
        if (expertTasks && k <= 64) {
            forwardExpertTasks(x, m, out, ws, idx, start, order, w);
            return;
        }
        java.util.Arrays.fill(out, 0, m * dim, 0f);
        for (int e = 0; e < n; e++) {
            int cnt = start[e + 1] - start[e];
            if (cnt == 0) continue;
            float[] xe = ws.f(Buf.MOE_XE, cnt * dim), ye = ws.f(Buf.MOE_YE, cnt * dim);
            for (int j = 0; j < cnt; j++) System.arraycopy(x, order[start[e] + j] / k * dim, xe, j * dim, dim);
            experts[e].forward(xe, cnt, ye, ws);
            for (int j = 0; j < cnt; j++) {
                int s = order[start[e] + j], t = s / k;
                float g = w[s];
                for (int c = 0; c < dim; c++) out[t * dim + c] += g * ye[j * dim + c];
            }
        }
        if (shared != null) {
            float[] ys = ws.f(Buf.MOE_SHARED, m * dim);
            shared.forward(x, m, ys, ws);
            for (int i = 0; i < m * dim; i++) out[i] += ys[i];
        }
    }

    /**
     * The FFN of several segments' rows stacked in x[m, dim] (the batch engine's stacked prefill): segment i is rows
     * segStart[i] .. segStart[i+1]-1, at most {@link Gemm#GEMV_MAX_M} of them. Each segment is routed alone (its own
     * router product), then the routed rows of all segments are grouped by expert and every expert's weights are read
     * once for all of them ({@link #forwardSideBySide}, products of at most GEMV_MAX_M rows each). Row t's result is
     * bitwise what {@link #forward} gives its segment alone when {@link #stackable} holds: alone every product has at
     * most GEMV_MAX_M rows too, and such products of these weights sum each row the same way whatever their row count
     * ({@code kernels.Gemv}); the weighted sum runs in the same order (ascending expert id, then the shared expert).
     * Block-typed weights (Q8_0, K-quants) switch kernels with the row count, so for them every product is cut at the
     * segments' boundaries as well: an expert gets one product per segment, of the rows that segment alone gives it,
     * in the same order (its weights read once per segment, the segments' products side by side in one parallel
     * job); the shared expert gets one product per segment. Each row is then
     * computed by the very kernel, at the same row count and index, as alone.
     */
    public void forwardStacked(float[] x, int m, int[] segStart, int segs, float[] out, Workspace ws) {
        int k = gate.topK(), n = experts.length;
        int[] idx = ws.i(Buf.MOE_IDX, m * k);
        float[] w = ws.f(Buf.MOE_W, m * k);
        for (int i = 0; i < segs; i++) {
            int r0 = segStart[i], r1 = segStart[i + 1];
            if (r1 - r0 > Gemm.GEMV_MAX_M)
                throw new IllegalArgumentException("a stacked segment has " + (r1 - r0) + " rows, more than jseek.gemvMaxM = " + Gemm.GEMV_MAX_M);
            gate.forward(x, r0, r1 - r0, idx, w, ws);
        }
        int[] start = ws.i(Buf.MOE_COUNT, 2 * n + 1), order = ws.i(Buf.MOE_ORDER, m * k);
        bucket(idx, m * k, start, order);
        forwardSideBySide(x, m, out, ws, start, order, w, Gemm.GEMV_MAX_M, stackable() ? null : segStart, segs);
    }

    /**
     * True when every routed and shared expert weight is of a float type (F32, BF16, F16, FP8), whose GEMV-sized
     * products sum a row the same way for any row count, so {@link #forwardStacked} may put the rows of several
     * segments in one product; block types switch kernels with the row count (fused, integer or packed GEMM), and
     * forwardStacked keeps their products to one segment's rows.
     */
    public boolean stackable() {
        for (Mlp e : experts) if (!floatType(e)) return false;
        return shared == null || floatType(shared);
    }

    private static boolean floatType(Mlp e) {
        return !e.gateProj().dtype().isBlock() && !e.upProj().dtype().isBlock() && !e.downProj().dtype().isBlock();
    }

    /** Buckets the (token, slot) pairs by expert: start[e] .. start[e+1] in order[] (start[n + 1 ..] is scratch). */
    private void bucket(int[] idx, int pairs, int[] start, int[] order) {
        int n = experts.length;
        long t0 = StepProfile.start();
        java.util.Arrays.fill(start, 0, 2 * n + 1, 0);
        for (int s = 0; s < pairs; s++) start[idx[s] + 1]++;
        for (int e = 0; e < n; e++) start[e + 1] += start[e];
        for (int s = 0; s < pairs; s++) order[start[idx[s]] + start[n + 1 + idx[s]]++] = s;
        StepProfile.stop(Phase.MOE_GATHER, t0);
    }

    /**
     * The decode regime's weighted sum by {@link Ops#addScaled} (vector product, then add: the scalar loop's bits) unless
     * the system property {@code jseek.moeVectorSum} is false (the scalar loop, which C2 left unvectorized: 4x the
     * time; docs/quantization.md, "The order in which 2 threads read the weights").
     */
    static final boolean VECTOR_SUM = Boolean.parseBoolean(System.getProperty("jseek.moeVectorSum", "true"));

    /**
     * The decode regime (few tokens, GEMV products): the selected experts and the shared expert run side by side, not
     * one after another. One parallel job computes every gate and up projection ({@link Gemm#linearMany}: row chunks
     * of all of them spread over the pool), one SwiGLU pass covers them all, a second job computes every down
     * projection. Only the selected experts' weights are read, and nothing is allocated once the workspace is warm.
     * Each product's values, and the order of the weighted sum (ascending expert id, then the shared expert), are
     * those of the expert-by-expert path, bit for bit. Products of more than {@code maxRows} rows are cut into
     * products of at most that many (the stacked prefill: each stays a GEMV-sized product).
     */
    private void forwardSideBySide(float[] x, int m, float[] out, Workspace ws, int[] start, int[] order, float[] w, int maxRows,
                                   int[] segStart, int segs) {
        int dim = gate.weight().cols(), k = gate.topK(), n = experts.length;
        // with segStart: segment of each row, and products cut where it changes (the rows of a bucket ascend)
        int[] seg = segStart == null ? null : ws.i(Buf.MOE_SEG, m);
        if (seg != null) for (int i = 0; i < segs; i++) java.util.Arrays.fill(seg, segStart[i], segStart[i + 1], i);
        int inter = n > 0 ? experts[0].inter() : 0, interS = shared == null ? 0 : shared.inter();
        int routed = m * k, rows = routed + (shared == null ? 0 : m), hidden = routed * inter + m * interS;
        // inputs: the routed (token, slot) rows grouped by expert, then the m tokens for the shared expert
        float[] xe = ws.f(Buf.MOE_XE, rows * dim), ye = ws.f(Buf.MOE_YE, rows * dim);
        float[] gu = ws.f(Buf.MOE_G, 2 * hidden);   // gate outputs [0, hidden), up outputs [hidden, 2 hidden)
        long t0 = StepProfile.start();
        for (int j = 0; j < routed; j++) System.arraycopy(x, order[j] / k * dim, xe, j * dim, dim);
        if (shared != null) System.arraycopy(x, 0, xe, routed * dim, m * dim);
        int cuts = seg == null ? 0 : segs;
        int maxJobs = 2 * (pieces(m, maxRows) + 1 + cuts);
        for (int e = 0; e < n; e++) maxJobs += 2 * (pieces(start[e + 1] - start[e], maxRows) + (start[e + 1] > start[e] ? cuts : 0));
        Matrix[] mats = ws.matrices(maxJobs);
        int[] jobs = ws.i(Buf.MOE_JOBS, 3 * maxJobs);
        int c = 0;
        for (int e = 0; e < n; e++)
            for (int j = start[e], cnt; j < start[e + 1]; j += cnt) {
                cnt = piece(order, k, seg, j, start[e + 1], maxRows);
                c = job(mats, jobs, c, experts[e].gateProj(), j * dim, cnt, j * inter);
                c = job(mats, jobs, c, experts[e].upProj(), j * dim, cnt, hidden + j * inter);
            }
        if (shared != null)
            for (int j = 0, cnt; j < m; j += cnt) {
                cnt = seg == null ? Math.min(maxRows, m - j) : Math.min(maxRows, segStart[seg[j] + 1] - j);
                c = job(mats, jobs, c, shared.gateProj(), (routed + j) * dim, cnt, routed * inter + j * interS);
                c = job(mats, jobs, c, shared.upProj(), (routed + j) * dim, cnt, hidden + routed * inter + j * interS);
            }
        StepProfile.stop(Phase.MOE_GATHER, t0);
        t0 = StepProfile.start();
        Gemm.linearMany(c, mats, xe, gu, jobs);
        StepProfile.stop(Phase.EXPERT_GATE_UP, t0);
        t0 = StepProfile.start();
        Ops.swiglu(gu, 0, gu, 0, gu, hidden, hidden);
        StepProfile.stop(Phase.SWIGLU, t0);
        c = 0;
        for (int e = 0; e < n; e++)
            for (int j = start[e], cnt; j < start[e + 1]; j += cnt) {
                cnt = piece(order, k, seg, j, start[e + 1], maxRows);
                c = job(mats, jobs, c, experts[e].downProj(), j * inter, cnt, j * dim);
            }
        if (shared != null)
            for (int j = 0, cnt; j < m; j += cnt) {
                cnt = seg == null ? Math.min(maxRows, m - j) : Math.min(maxRows, segStart[seg[j] + 1] - j);
                c = job(mats, jobs, c, shared.downProj(), routed * inter + j * interS, cnt, (routed + j) * dim);
            }
        t0 = StepProfile.start();
        Gemm.linearMany(c, mats, gu, ye, jobs);
        StepProfile.stop(Phase.EXPERT_DOWN, t0);
        t0 = StepProfile.start();
        java.util.Arrays.fill(out, 0, m * dim, 0f);
        for (int e = 0; e < n; e++)
            for (int j = start[e]; j < start[e + 1]; j++) {
                int s = order[j], t = s / k;
                float g = w[s];
                if (VECTOR_SUM) Ops.addScaled(g, ye, j * dim, out, t * dim, dim);     // out += g * ye, vectorized, same bits
                else for (int cc = 0; cc < dim; cc++) out[t * dim + cc] += g * ye[j * dim + cc];
            }
        if (shared != null) for (int i = 0; i < m * dim; i++) out[i] += ye[routed * dim + i];
        StepProfile.stop(Phase.MOE_COMBINE, t0);
    }

    /**
     * System property {@code jseek.moeExpertTasks} (default true): prefill-sized calls run {@link #forwardExpertTasks};
     * false runs the experts one after another, every product a parallel GEMM of its own (the previous path, for A/B).
     */
    static boolean expertTasks = Boolean.parseBoolean(System.getProperty("jseek.moeExpertTasks", "true"));

    /**
     * The prefill regime (more than {@link Gemm#GEMV_MAX_M} tokens): one parallel job whose tasks are whole expert
     * FFNs (gate, up, SwiGLU, down of one routed expert's token group, or of a slice of at least GEMV_MAX_M + 1 rows of
     * the shared expert's tokens), taken largest first, each on one thread (the products inside a task run serially:
     * nested {@code Parallel} calls do). At small widths (the 12M model: hidden 256, 128-wide experts of ~128 tokens)
     * one product is a few tens of microseconds, so a parallel section per product cost more than the product; here a
     * layer's experts cost one section. Every product is the call the expert-by-expert path makes (same rows, or a row
     * slice of a GEMM-sized product, whose elements the GEMM sums the same way whatever its row split), and the
     * weighted sum runs in the same order, so the result is bitwise that of the expert-by-expert path
     * ({@code PrefillTasksTest}).
     */
    private void forwardExpertTasks(float[] x, int m, float[] out, Workspace ws, int[] idx, int[] start, int[] order, float[] w) {
        int dim = gate.weight().cols(), k = gate.topK(), n = experts.length;
        int inter = n > 0 ? experts[0].inter() : 0, interS = shared == null ? 0 : shared.inter();
        int routed = m * k, rows = routed + (shared == null ? 0 : m), hidden = routed * inter + m * interS;
        float[] xe = ws.f(Buf.MOE_XE, routed * dim), ye = ws.f(Buf.MOE_YE, rows * dim);
        float[] gu = ws.f(Buf.MOE_G, 2 * hidden);
        int[] pos = ws.i(Buf.MOE_POS, routed);
        long t0 = StepProfile.start();
        // the shared expert's rows in slices of more than GEMV_MAX_M rows each (so each stays a GEMM-path product)
        int slices = shared == null ? 0 : Math.max(1, Math.min(2 * Parallel.threads(), m / (Gemm.GEMV_MAX_M + 1)));
        int[] jobs = ws.i(Buf.MOE_JOBS, 3 * (n + slices));
        int c = 0;
        for (int i = 0; i < slices; i++) {
            int r0 = (int) ((long) m * i / slices), r1 = (int) ((long) m * (i + 1) / slices);
            jobs[3 * c] = -1;
            jobs[3 * c + 1] = r0;
            jobs[3 * c + 2] = r1 - r0;
            c++;
        }
        int firstRouted = c;
        for (int e = 0; e < n; e++) {
            int cnt = start[e + 1] - start[e];
            if (cnt == 0) continue;
            // insertion by descending token count: the largest tasks first, for the load balance
            int at = c++;
            while (at > firstRouted && jobs[3 * (at - 1) + 2] < cnt) {
                System.arraycopy(jobs, 3 * (at - 1), jobs, 3 * at, 3);
                at--;
            }
            jobs[3 * at] = e;
            jobs[3 * at + 1] = start[e];
            jobs[3 * at + 2] = cnt;
        }
        StepProfile.stop(Phase.MOE_GATHER, t0);
        t0 = StepProfile.start();
        Parallel.parallelFor(c, (t, wk) -> {
            int e = jobs[3 * t], j0 = jobs[3 * t + 1], cnt = jobs[3 * t + 2];
            Mlp f = e < 0 ? shared : experts[e];
            int width = e < 0 ? interS : inter, row = e < 0 ? routed + j0 : j0;
            int go = e < 0 ? routed * inter + j0 * interS : j0 * inter, uo = hidden + go;
            // the shared expert reads its rows of x in place; a routed expert gathers its tokens first
            float[] in = e < 0 ? x : xe;
            int xo = j0 * dim;
            if (e >= 0) for (int j = j0; j < j0 + cnt; j++) System.arraycopy(x, order[j] / k * dim, xe, j * dim, dim);
            Gemm.linear(gu, go, in, xo, cnt, f.gateProj(), false);
            Gemm.linear(gu, uo, in, xo, cnt, f.upProj(), false);
            Ops.swiglu(gu, go, gu, go, gu, uo, cnt * width);
            Gemm.linear(ye, row * dim, gu, go, cnt, f.downProj(), false);
        });
        StepProfile.stop(Phase.DENSE_FFN, t0);
        t0 = StepProfile.start();
        for (int j = 0; j < routed; j++) pos[order[j]] = j;
        // per token, in token chunks on the pool: its experts' weighted outputs in ascending expert id (the order of
        // the expert-by-expert loop), then the shared expert's; the same operations on every element
        Parallel.parallelForRange(m, Parallel.grain(m, 2, 8), (lo, hi) -> {
            for (int t = lo; t < hi; t++) {
                int o = t * dim;
                java.util.Arrays.fill(out, o, o + dim, 0f);
                long done = 0;                                  // slots of t already added (bit i: slot t k + i)
                for (int a = 0; a < k; a++) {
                    int best = -1;
                    for (int i = 0; i < k; i++)
                        if ((done & (1L << i)) == 0 && (best < 0 || idx[t * k + i] < idx[t * k + best])) best = i;
                    done |= 1L << best;
                    int sl = t * k + best, yo = pos[sl] * dim;
                    float g = w[sl];
                    for (int cc = 0; cc < dim; cc++) out[o + cc] += g * ye[yo + cc];
                }
                if (shared != null) for (int cc = 0; cc < dim; cc++) out[o + cc] += ye[(routed + t) * dim + cc];
            }
        });
        StepProfile.stop(Phase.MOE_COMBINE, t0);
    }

    /**
     * Rows of the product that starts at bucket entry j (the bucket ends at end): at most maxRows, and with seg (the
     * segment of each token row) only entries whose token lies in the same segment as entry j's.
     */
    private static int piece(int[] order, int k, int[] seg, int j, int end, int maxRows) {
        int lim = Math.min(end, j + maxRows);
        if (seg == null) return lim - j;
        int s = seg[order[j] / k], i = j + 1;
        while (i < lim && seg[order[i] / k] == s) i++;
        return i - j;
    }

    /** Products of at most maxRows rows that cover n rows. */
    private static int pieces(int n, int maxRows) { return n == 0 ? 0 : (int) ((n + (long) maxRows - 1) / maxRows); }

    private static int job(Matrix[] mats, int[] jobs, int c, Matrix w, int xOff, int m, int yOff) {
        mats[c] = w;
        jobs[3 * c] = xOff;
        jobs[3 * c + 1] = m;
        jobs[3 * c + 2] = yOff;
        return c + 1;
    }
}
