package dev.jseek.kernels;

/**
 * Element-wise and row kernels of the forward pass. SKELETON: scalar bodies; the kernels work vectorizes them and
 * keeps these as scalar twins. All operate on row-major float arrays with explicit offsets.
 */
public final class Ops {
    private Ops() {}

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
     * Interleaved-pair RoPE (official DeepSeek code, spec B.5) in place on x[off..off+2*half):
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
        for (int j = 0; j < k; j++) idx[j] = -1;
        for (int i = 0; i < n; i++) {
            float v = x[off + i];
            int pos = k;
            while (pos > 0 && (idx[pos - 1] < 0 || greater(v, x[off + idx[pos - 1]]))) pos--;
            if (pos < k) {
                System.arraycopy(idx, pos, idx, pos + 1, k - pos - 1);
                idx[pos] = i;
            }
        }
    }

    private static boolean greater(float a, float b) {
        if (Float.isNaN(a)) return false;
        if (Float.isNaN(b)) return true;
        return a > b;
    }
}
