package dev.jseek.kernels.scalar;

/**
 * Scalar twins (test oracles) of {@link dev.jseek.kernels.Ops}: the same contracts written as plain loops, with
 * double accumulation where a sum is involved. Not for hot paths.
 */
public final class ScalarOps {
    private ScalarOps() {}

    /** out[o..o+n) = w * x / sqrt(mean(x^2) + eps); returns the reciprocal RMS (kept for backward). */
    public static float rmsNorm(float[] out, int outOff, float[] x, int xOff, float[] w, int n, float eps) {
        double ss = 0;
        for (int i = 0; i < n; i++) ss += (double) x[xOff + i] * x[xOff + i];
        float r = (float) (1.0 / Math.sqrt(ss / n + eps));
        for (int i = 0; i < n; i++) out[outOff + i] = w[i] * (x[xOff + i] * r);
        return r;
    }

    /** In-place softmax of x[off..off+n) (max-subtracted, FP32). */
    public static void softmax(float[] x, int off, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, x[off + i]);
        double sum = 0;
        for (int i = 0; i < n; i++) { float e = (float) Math.exp(x[off + i] - max); x[off + i] = e; sum += e; }
        float inv = (float) (1.0 / sum);
        for (int i = 0; i < n; i++) x[off + i] *= inv;
    }

    /** SwiGLU: out[i] = silu(gate[i]) * up[i] for n elements. */
    public static void swiglu(float[] out, int outOff, float[] gate, int gateOff, float[] up, int upOff, int n) {
        for (int i = 0; i < n; i++) {
            float g = gate[gateOff + i];
            out[outOff + i] = g / (1f + (float) Math.exp(-g)) * up[upOff + i];
        }
    }

    /**
     * Interleaved-pair RoPE (official DeepSeek code, docs/architecture.md §3.5) in place on x[off..off+2*half):
     * (x[2i], x[2i+1]) rotated by the angle whose cos/sin are cos[cOff+i], sin[cOff+i].
     */
    public static void ropeInterleaved(float[] x, int off, float[] cos, float[] sin, int cOff, int half) {
        for (int i = 0; i < half; i++) {
            float a = x[off + 2 * i], b = x[off + 2 * i + 1], c = cos[cOff + i], s = sin[cOff + i];
            x[off + 2 * i] = a * c - b * s;
            x[off + 2 * i + 1] = a * s + b * c;
        }
    }

    /**
     * Indices of the k largest values of x[off..off+n), largest first; ties broken by the lower index.
     * NaN is never selected over a number. Writes into idx[0..k).
     */
    public static void topK(float[] x, int off, int n, int k, int[] idx) {
        // selection, independent of the production insertion: slot j takes the best value not taken yet
        boolean[] taken = new boolean[n];
        for (int j = 0; j < k; j++) {
            int best = -1;
            for (int i = 0; i < n; i++)
                if (!taken[i] && (best < 0 || greater(x[off + i], x[off + best]))) best = i;
            idx[j] = best;
            if (best >= 0) taken[best] = true;
        }
    }

    private static boolean greater(float a, float b) {
        if (Float.isNaN(a)) return false;
        if (Float.isNaN(b)) return true;
        return a > b;
    }

    /** Sum of a[aOff+i] * b[bOff+i] for i < n (accumulated in double). */
    public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) s += (double) a[aOff + i] * b[bOff + i];
        return (float) s;
    }

    /** y[yOff+i] += alpha * x[xOff+i]. */
    public static void axpy(float alpha, float[] x, int xOff, float[] y, int yOff, int n) {
        for (int i = 0; i < n; i++) y[yOff + i] += alpha * x[xOff + i];
    }

    /** out[outOff+i] = a[aOff+i] + b[bOff+i]. */
    public static void add(float[] out, int outOff, float[] a, int aOff, float[] b, int bOff, int n) {
        for (int i = 0; i < n; i++) out[outOff + i] = a[aOff + i] + b[bOff + i];
    }

    /** out[outOff+i] = a[aOff+i] * b[bOff+i]. */
    public static void mul(float[] out, int outOff, float[] a, int aOff, float[] b, int bOff, int n) {
        for (int i = 0; i < n; i++) out[outOff + i] = a[aOff + i] * b[bOff + i];
    }

    /** x[off+i] *= s. */
    public static void scale(float[] x, int off, int n, float s) {
        for (int i = 0; i < n; i++) x[off + i] *= s;
    }

    /** Sum of x^2 over x[off..off+n) (double accumulation); twin of Ops.sumSquares. */
    public static float sumSquares(float[] x, int off, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) s += (double) x[off + i] * x[off + i];
        return (float) s;
    }

    /** Largest of x[off..off+n) (NaN if any is NaN, -inf when empty); twin of Ops.max. */
    public static float max(float[] x, int off, int n) {
        float m = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) m = Math.max(m, x[off + i]);
        return m;
    }
}
