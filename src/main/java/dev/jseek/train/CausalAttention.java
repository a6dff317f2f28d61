package dev.jseek.train;

/**
 * Causal multi-head softmax attention core of MLA's naive mode (report §2.1.1; docs/architecture.md §3.2): for each sequence b, head h and query
 * t, score(t, s) = scale * q_t . k_s for s <= t (and s >= the start of t's document when packed samples are masked),
 * P = softmax over s, o_t = sum_s P(t, s) v_s. Sequences are the
 * B blocks of T consecutive rows. Forward saves only the log-sum-exp per (b, h, t) (flash style); backward
 * recomputes P from q, k and lse: dv_s += P dO_t, ds = P (dO_t.v_s - dO_t.o_t), dq_t += scale ds k_s,
 * dk_s += scale ds q_t. Attention has no weights, so its backward is all input part.
 *
 * <p>Layouts (floats, row r = b*T + t): q and k are [N, H, dqk] contiguous; v is read at
 * vOff + r*vRowStride + h*vHeadStride (so it can live inside kv_b's output); o is [N, H, dv]; lse is [N, H].
 */
public final class CausalAttention {
    private CausalAttention() {}

    /**
     * Forward over B sequences of T rows: q, k [B*T, H*dqk] and o [B*T, H*dv] (heads side by side), v read per head h
     * at column h*vHeadStride of its rows (v may be a column slice of a wider row, e.g. inside MLA's kv), lse [B*T, H].
     * All in one arena (q.a()). o = softmax(scale * q k^T, causal) v per head; lse saved for backward.
     */
    public static void forward(View q, View k, View v, int vHeadStride, View o, View lse, int B, int T, float scale) {
        forward(q, k, v, vHeadStride, o, lse, B, T, scale, null);
    }

    /** As {@link #forward(View, View, View, int, View, View, int, int, float)} with document masks (docStart, see below; null = causal). */
    public static void forward(View q, View k, View v, int vHeadStride, View o, View lse, int B, int T, float scale, int[] docStart) {
        int H = lse.cols();
        forward(q.a(), q.off(), k.off(), v.off(), v.stride(), vHeadStride, o.off(), lse.off(), B, T, H, q.cols() / H, o.cols() / H, scale, docStart);
    }

    /**
     * Backward, the mirror of {@link #forward(View, View, View, int, View, View, int, int, float)}: reads dO in
     * {@code d} at o's offset and accumulates dq, dk, dv in {@code d} at the offsets of q, k, v (P recomputed from
     * q, k and lse).
     */
    public static void backward(View q, View k, View v, int vHeadStride, View o, View lse, float[] d, int B, int T, float scale) {
        backward(q, k, v, vHeadStride, o, lse, d, B, T, scale, null);
    }

    /** The backward with document masks. */
    public static void backward(View q, View k, View v, int vHeadStride, View o, View lse, float[] d, int B, int T, float scale, int[] docStart) {
        int H = lse.cols();
        backward(q.a(), d, q.off(), k.off(), v.off(), v.stride(), vHeadStride, o.off(), lse.off(), B, T, H, q.cols() / H, o.cols() / H, scale, docStart);
    }

    /** Fast forward: vectorized, parallel over (sequence, head); same results as {@link #forwardScalar} up to rounding. */
    public static void forward(float[] a, int q, int k, int v, int vRowStride, int vHeadStride, int o, int lse,
                               int B, int T, int H, int dqk, int dv, float scale) {
        forward(a, q, k, v, vRowStride, vHeadStride, o, lse, B, T, H, dqk, dv, scale, null);
    }

    /** Fast backward (see {@link #backwardScalar}); k and v must not overlap. */
    public static void backward(float[] a, float[] d, int q, int k, int v, int vRowStride, int vHeadStride, int o, int lse,
                                int B, int T, int H, int dqk, int dv, float scale) {
        backward(a, d, q, k, v, vRowStride, vHeadStride, o, lse, B, T, H, dqk, dv, scale, null);
    }

    /**
     * Forward with document masks: query t sees keys docStart[b*T+t] <= s <= t (null: plain causal). The tiled kernel
     * ({@link TiledAttention}, memory linear in T).
     */
    public static void forward(float[] a, int q, int k, int v, int vRowStride, int vHeadStride, int o, int lse,
                               int B, int T, int H, int dqk, int dv, float scale, int[] docStart) {
        TiledAttention.forward(a, q, k, v, vRowStride, vHeadStride, o, lse, B, T, H, dqk, dv, scale, docStart);
    }

    /** Backward with document masks (see {@link #forward(float[], int, int, int, int, int, int, int, int, int, int, int, int, float, int[])}). */
    public static void backward(float[] a, float[] d, int q, int k, int v, int vRowStride, int vHeadStride, int o, int lse,
                                int B, int T, int H, int dqk, int dv, float scale, int[] docStart) {
        TiledAttention.backward(a, d, q, k, v, vRowStride, vHeadStride, o, lse, B, T, H, dqk, dv, scale, docStart);
    }

    /**
     * Scratch bytes one worker thread of the tiled kernel holds for a sequence of T (its backward, the larger): the
     * head's K (transposed and row-major), V^T, dK and dV, each T x d, plus 4 x KB score tiles. Linear in T; the
     * B x H x T x T scores of a plain attention are never formed.
     */
    public static long scratchBytes(int T, int dqk, int dv) { return TiledAttention.scratchFloats(T, dqk, dv) * 4L; }


    /** Scalar twin of {@link #forward} (the test oracle). */
    public static void forwardScalar(float[] a, int q, int k, int v, int vRowStride, int vHeadStride, int o, int lse,
                               int B, int T, int H, int dqk, int dv, float scale) {
        forwardScalar(a, q, k, v, vRowStride, vHeadStride, o, lse, B, T, H, dqk, dv, scale, null);
    }

    /** Scalar twin of the masked forward: keys docStart[b*T+t] <= s <= t (null: from 0). */
    public static void forwardScalar(float[] a, int q, int k, int v, int vRowStride, int vHeadStride, int o, int lse,
                               int B, int T, int H, int dqk, int dv, float scale, int[] docStart) {
        float[] sc = new float[T];
        for (int b = 0; b < B; b++)
            for (int h = 0; h < H; h++)
                for (int t = 0; t < T; t++) {
                    int qo = q + ((b * T + t) * H + h) * dqk, s0 = docStart == null ? 0 : docStart[b * T + t];
                    float max = Float.NEGATIVE_INFINITY;
                    for (int s = s0; s <= t; s++) {
                        int ko = k + ((b * T + s) * H + h) * dqk;
                        float dot = 0;
                        for (int i = 0; i < dqk; i++) dot += a[qo + i] * a[ko + i];
                        sc[s] = scale * dot;
                        if (sc[s] > max) max = sc[s];
                    }
                    double sum = 0;
                    for (int s = s0; s <= t; s++) { float e = (float) Math.exp(sc[s] - max); sc[s] = e; sum += e; }
                    float inv = (float) (1.0 / sum);
                    int oo = o + ((b * T + t) * H + h) * dv;
                    for (int i = 0; i < dv; i++) a[oo + i] = 0f;
                    for (int s = s0; s <= t; s++) {
                        float pr = sc[s] * inv;
                        int vo = v + (b * T + s) * vRowStride + h * vHeadStride;
                        for (int i = 0; i < dv; i++) a[oo + i] += pr * a[vo + i];
                    }
                    a[lse + (b * T + t) * H + h] = max + (float) Math.log(sum);
                }
    }

    /** Scalar twin of {@link #backward}: reads dO at d[o]; accumulates into d[q], d[k] and d[v]. */
    public static void backwardScalar(float[] a, float[] d, int q, int k, int v, int vRowStride, int vHeadStride, int o, int lse,
                                int B, int T, int H, int dqk, int dv, float scale) {
        backwardScalar(a, d, q, k, v, vRowStride, vHeadStride, o, lse, B, T, H, dqk, dv, scale, null);
    }

    /** Scalar twin of the masked backward. */
    public static void backwardScalar(float[] a, float[] d, int q, int k, int v, int vRowStride, int vHeadStride, int o, int lse,
                                int B, int T, int H, int dqk, int dv, float scale, int[] docStart) {
        for (int b = 0; b < B; b++)
            for (int h = 0; h < H; h++)
                for (int t = 0; t < T; t++) {
                    int row = (b * T + t) * H + h;
                    int qo = q + row * dqk, oo = o + row * dv;
                    float l = a[lse + row];
                    float dsum = 0;
                    for (int i = 0; i < dv; i++) dsum += d[oo + i] * a[oo + i];
                    for (int s = docStart == null ? 0 : docStart[b * T + t]; s <= t; s++) {
                        int ko = k + ((b * T + s) * H + h) * dqk;
                        int vo = v + (b * T + s) * vRowStride + h * vHeadStride;
                        float dot = 0;
                        for (int i = 0; i < dqk; i++) dot += a[qo + i] * a[ko + i];
                        float pr = (float) Math.exp(scale * dot - l);
                        float dp = 0;
                        for (int i = 0; i < dv; i++) {
                            dp += d[oo + i] * a[vo + i];
                            d[vo + i] += pr * d[oo + i];
                        }
                        float ds = scale * pr * (dp - dsum);
                        for (int i = 0; i < dqk; i++) {
                            d[qo + i] += ds * a[ko + i];
                            d[ko + i] += ds * a[qo + i];
                        }
                    }
                }
    }
}
