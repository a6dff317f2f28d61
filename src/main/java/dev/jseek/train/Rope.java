package dev.jseek.train;

/**
 * Interleaved-pair RoPE with YaRN-corrected frequencies (spec B.5, C). Pair i = (x[2i], x[2i+1]) of a
 * {@code qk_rope_head_dim} vector at position p is rotated by the angle p * f'_i, with f'_i from
 * {@link #inverseFrequencies}. cos/sin tables hold {@link ModelDims#ropeAttentionFactor()} * cos/sin (1.0 for V3).
 * The backward is the rotation by -angle with the same (scaled) tables: it is the transpose of the forward.
 */
public final class Rope {
    public final int dim, maxPos;
    private final int half;
    private final float[] cos, sin;

    public Rope(ModelDims c, int maxPos) {
        this(c.qkRopeHeadDim(), c.ropeTheta(), c.yarn(), c.ropeAttentionFactor(), maxPos);
    }

    public Rope(int dim, double theta, ModelDims.Yarn yarn, double attentionFactor, int maxPos) {
        if (dim <= 0 || dim % 2 != 0) throw new IllegalArgumentException("rope dim must be even and > 0, got " + dim);
        this.dim = dim;
        this.half = dim / 2;
        this.maxPos = maxPos;
        double[] f = inverseFrequencies(dim, theta, yarn);
        cos = new float[maxPos * half];
        sin = new float[maxPos * half];
        for (int p = 0; p < maxPos; p++)
            for (int i = 0; i < half; i++) {
                float angle = (float) p * (float) f[i]; // float32(p * float32 f'_i), spec C.2
                cos[p * half + i] = (float) (attentionFactor * Math.cos(angle));
                sin[p * half + i] = (float) (attentionFactor * Math.sin(angle));
            }
    }

    /** f'_i for i in [0, dim/2): theta^(-2i/dim), blended towards f_i/factor by the YaRN ramp (spec C.1, C.2). */
    public static double[] inverseFrequencies(int dim, double theta, ModelDims.Yarn yarn) {
        int half = dim / 2;
        double[] f = new double[half];
        for (int i = 0; i < half; i++) f[i] = 1.0 / Math.pow(theta, 2.0 * i / dim);
        if (yarn == null) return f;
        double low = Math.max(Math.floor(correctionDim(yarn.betaFast(), dim, theta, yarn.originalMaxPositionEmbeddings())), 0);
        double high = Math.min(Math.ceil(correctionDim(yarn.betaSlow(), dim, theta, yarn.originalMaxPositionEmbeddings())), dim - 1);
        if (low == high) high += 0.001;
        for (int i = 0; i < half; i++) {
            double ramp = Math.min(1, Math.max(0, (i - low) / (high - low)));
            double smooth = 1 - ramp;
            f[i] = f[i] / yarn.factor() * (1 - smooth) + f[i] * smooth;
        }
        return f;
    }

    /** dim * ln(L0 / (nRot * 2 pi)) / (2 ln theta) (spec C.2). */
    public static double correctionDim(double nRot, int dim, double theta, int originalMax) {
        return dim * Math.log(originalMax / (nRot * 2 * Math.PI)) / (2 * Math.log(theta));
    }

    /**
     * Rotates in place, for each of {@code rows} rows (row r at position r % seqLen) and each of {@code heads}
     * vectors at x[off + r*rowStride + h*headStride .. + dim). {@code inverse} rotates by -angle (the backward).
     */
    public void apply(float[] x, int off, int rows, int rowStride, int heads, int headStride, int seqLen, boolean inverse) {
        if (seqLen > maxPos) throw new IllegalArgumentException("sequence length " + seqLen + " exceeds RoPE table size " + maxPos);
        float sgn = inverse ? -1f : 1f;
        for (int r = 0; r < rows; r++) {
            int c0 = (r % seqLen) * half;
            for (int h = 0; h < heads; h++) {
                int o = off + r * rowStride + h * headStride;
                for (int i = 0; i < half; i++) {
                    float a = x[o + 2 * i], b = x[o + 2 * i + 1], c = cos[c0 + i], s = sgn * sin[c0 + i];
                    x[o + 2 * i] = a * c - b * s;
                    x[o + 2 * i + 1] = a * s + b * c;
                }
            }
        }
    }

    /** cos of pair i at position p (scaled by the attention factor). */
    public float cos(int p, int i) { return cos[p * half + i]; }

    /** sin of pair i at position p (scaled by the attention factor). */
    public float sin(int p, int i) { return sin[p * half + i]; }
}
