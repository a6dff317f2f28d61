package dev.jseek.model;

/**
 * Rotary position embedding of the decoupled q_pe / k_pe (report §4.3; docs/architecture.md §3.5): the per-pair inverse frequencies f'_i, with
 * the YaRN correction when the config has {@code rope_scaling}, and cos/sin tables per position.
 *
 * <p>YaRN (docs/architecture.md §4.2, as the official demo computes it, in float32): f_i = θ^(-2i/d); a linear ramp between
 * low = floor(corr(beta_fast)) and high = ceil(corr(beta_slow)) with corr(n) = d·ln(L0/(2πn))/(2 ln θ) blends
 * f_i/s (interpolated, i >= high) into f_i (extrapolated, i <= low). The angle of position p is
 * float32(p · f'_i) (docs/architecture.md §4.2), then cos/sin. The cos/sin are multiplied by HF's attention factor
 * (1 for V3, docs/architecture.md §4.3); the softmax-scale part of the mscale lives in {@link ModelConfig#softmaxScale()}.
 * Unlike the demo, YaRN is applied whenever rope_scaling is set (as HF does; the demo needs max_seq_len > L0).
 */
public final class Rope {
    /** Rotary width d = qk_rope_head_dim; the tables hold d/2 entries per position. */
    public final int dim;
    private final float[] invFreq;
    private final float attentionFactor;
    private final int low, high;

    public Rope(ModelConfig cfg) {
        dim = cfg.qkRopeHeadDim();
        int half = dim / 2;
        double theta = cfg.ropeTheta();
        invFreq = new float[half];
        for (int i = 0; i < half; i++) {
            float exponent = (float) (2 * i) / dim;
            invFreq[i] = 1f / (float) Math.pow(theta, exponent);
        }
        ModelConfig.RopeScaling rs = cfg.ropeScaling();
        if (rs == null) {
            attentionFactor = 1f;
            low = high = -1;
            return;
        }
        int lo = (int) Math.max(Math.floor(correctionDim(rs.betaFast(), dim, theta, rs.originalMaxPositionEmbeddings())), 0);
        int hi = (int) Math.min(Math.ceil(correctionDim(rs.betaSlow(), dim, theta, rs.originalMaxPositionEmbeddings())), dim - 1);
        low = lo;
        high = hi;
        float span = lo == hi ? 0.001f : (float) (hi - lo);
        float s = (float) rs.factor();
        for (int i = 0; i < half; i++) {
            float ramp = Math.min(1f, Math.max(0f, ((float) i - lo) / span));
            float smooth = 1f - ramp;
            float f = invFreq[i];
            invFreq[i] = f / s * (1f - smooth) + f * smooth;
        }
        attentionFactor = (rs.mscale() != 0 && rs.mscaleAllDim() != 0)
                ? (float) (yarnMscale(rs.factor(), rs.mscale()) / yarnMscale(rs.factor(), rs.mscaleAllDim()))
                : (float) yarnMscale(rs.factor(), 1.0);
    }

    /** The dimension index whose wavelength makes {@code numRotations} turns over {@code originalLen} positions. */
    static double correctionDim(double numRotations, int dim, double theta, int originalLen) {
        return dim * Math.log(originalLen / (numRotations * 2 * Math.PI)) / (2 * Math.log(theta));
    }

    /** YaRN attention temperature m = 0.1·mscale·ln(s) + 1 (1 when s <= 1), docs/architecture.md §4.3. */
    public static double yarnMscale(double factor, double mscale) {
        return factor <= 1 ? 1.0 : 0.1 * mscale * Math.log(factor) + 1.0;
    }

    /** f'_i for i = 0..dim/2-1 (a copy). */
    public float[] invFreq() { return invFreq.clone(); }

    /** YaRN ramp bounds {low, high} (docs/architecture.md §4.2), or {-1, -1} for plain RoPE. */
    public int[] correctionRange() { return new int[] {low, high}; }

    /** The factor the cos/sin are multiplied by (HF attention_factor; 1 for V3). */
    public float attentionFactor() { return attentionFactor; }

    /** cos/sin of positions start..start+n-1: entry (t, i) at t·dim/2 + i of {@code cos} and {@code sin}. */
    public void table(int start, int n, float[] cos, float[] sin) {
        for (int t = 0; t < n; t++) row(start + t, t, cos, sin);
    }

    /** cos/sin of positions[0..n-1] (one per row of a batch of sequences), laid out as in {@link #table}. */
    public void table(int[] positions, int n, float[] cos, float[] sin) {
        for (int t = 0; t < n; t++) row(positions[t], t, cos, sin);
    }

    private void row(int position, int t, float[] cos, float[] sin) {
        int half = dim / 2;
        float p = position;
        for (int i = 0; i < half; i++) {
            float angle = p * invFreq[i];
            cos[t * half + i] = (float) Math.cos(angle) * attentionFactor;
            sin[t * half + i] = (float) Math.sin(angle) * attentionFactor;
        }
    }
}
