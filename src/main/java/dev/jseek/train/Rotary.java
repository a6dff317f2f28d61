package dev.jseek.train;

import dev.jseek.model.ModelConfig;
import dev.jseek.model.Rope;

/**
 * Interleaved-pair RoPE for training (report §4.3; docs/architecture.md §3.5): pair i = (x[2i], x[2i+1]) of a {@code qk_rope_head_dim} vector
 * at position p is rotated by p * f'_i. The cos/sin tables (YaRN frequencies, HF attention factor) are the
 * inference model's ({@link Rope#table}), so training and inference rotate identically. The backward is the rotation
 * by -angle with the same (scaled) tables: the transpose of the forward.
 */
public final class Rotary {
    public final int dim, maxPos;
    private final int half;
    private final float[] cos, sin;

    public Rotary(ModelConfig c, int maxPos) {
        dim = c.qkRopeHeadDim();
        half = dim / 2;
        this.maxPos = maxPos;
        cos = new float[maxPos * half];
        sin = new float[maxPos * half];
        new Rope(c).table(0, maxPos, cos, sin);
    }

    /**
     * Rotates in place, for each of {@code rows} rows (row r at position r % seqLen) and each of {@code heads}
     * vectors at x[off + r*rowStride + h*headStride .. + dim). {@code inverse} rotates by -angle (the backward).
     */
    public void apply(float[] x, int off, int rows, int rowStride, int heads, int headStride, int seqLen, boolean inverse) {
        if (seqLen > maxPos) throw new IllegalArgumentException("sequence length " + seqLen + " exceeds RoPE table size " + maxPos);
        float sgn = inverse ? -1f : 1f;
        TrainPool.forRange(rows, TrainPool.grain(rows, 16), (lo, hi, w) -> {
            for (int r = lo; r < hi; r++) {
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
        });
    }
}
