package dev.jseek.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Activations quantized the way ggml's {@code quantize_row_q8_K_ref} does it, for the integer dot products of the
 * K-quant decode kernels ({@link KQuantDot}): per block of 256 values a float scale {@code d} and int8 codes
 * {@code q = min(127, nearest_int(x * (-127 / max)))} ({@code max} the first value of largest magnitude, {@code d =
 * 1 / (-127 / max)}, so x is about {@code d * q} and |q| <= 127), plus the sum of the codes of each 32 values (the
 * sums the Q4_K/Q5_K mins multiply) and of each 16 (which the Q6_K kernel's offset of 32 multiplies, as in ggml). A
 * block that is all zero has d = 0 and zero codes; a block holding a NaN or an infinity gets d = NaN and zero codes,
 * so every dot product with it is NaN, as in float arithmetic (ggml would compute garbage there); a block whose
 * largest magnitude is so small that {@code -127 / max} overflows (below about 3.7e-37) counts as zero.
 *
 * <p>The codes are stored widened to shorts, ready for the 16-bit multiplies of the kernels, in element order and
 * again in the order each K-quant kernel reads its weight bytes (the activation side of a product is quantized once
 * and read by every weight row, so it is laid out for the weights, not the other way round). One instance is a
 * per-thread buffer ({@link Scratch#q8k}); element offsets are multiples of 256. Quantizing is vectorized and
 * equals the scalar twin {@link dev.jseek.kernels.scalar.ScalarQ8K} bit for bit.
 */
public final class Q8K {
    public static final int BLOCK = 256;

    private static final VectorSpecies<Float> F = Vec.F;
    private static final VectorSpecies<Integer> I = Vec.I;
    private static final VectorSpecies<Short> SH = Vec.S;
    private static final int L = Vec.LANES;

    /** Codes (int8 values held in shorts), one per element. */
    short[] q = new short[0];
    /** Scale per block of 256. */
    float[] d = new float[0];
    /** Sum of the codes of each 32 elements. */
    int[] bsum = new int[0];
    /** Sum of the codes of each 16 elements (the Q6_K kernel's offset term). */
    int[] bsum16 = new int[0];
    /**
     * The codes again, each block of 256 in the order the Q4_K/Q5_K kernel reads them ({@link KQuantDot#PERM4}: slot
     * i of a block holds code {@code PERM4[i]}), and in the Q6_K kernel's order ({@link KQuantDot#PERM6}).
     */
    short[] p4 = new short[0], p6 = new short[0];
    /**
     * Per block of 256, {@link KQuantFloat#XS} floats at {@code (o / 256) * XS}: the float sums of the unquantized
     * values over each 32 ({@link KQuantFloat#xsums}), for the float Q4_K kernel's mins term; filled only when
     * {@code jseek.kqFloat} is on ({@link QuantGemv#KQ_FLOAT}), the only case that reads them.
     */
    float[] xs = new float[0];

    /** Per product of a {@link Gemm#linearMany} call: the element offset of its quantized input, or -1. */
    int[] slot = new int[0];

    Q8K() {}

    /** Room for n elements (a multiple of 256), keeping the ones already quantized. */
    void ensure(int n) {
        if (q.length < n) {
            int cap = Math.max(n, q.length + q.length / 2);
            cap = (cap + BLOCK - 1) / BLOCK * BLOCK;
            q = java.util.Arrays.copyOf(q, cap);
            p4 = java.util.Arrays.copyOf(p4, cap);
            p6 = java.util.Arrays.copyOf(p6, cap);
            d = java.util.Arrays.copyOf(d, cap / BLOCK);
            bsum = java.util.Arrays.copyOf(bsum, cap / 32);
            bsum16 = java.util.Arrays.copyOf(bsum16, cap / 16);
            xs = java.util.Arrays.copyOf(xs, cap / BLOCK * KQuantFloat.XS);
        }
    }

    void slots(int count) {
        if (slot.length < count) slot = new int[Math.max(count, 2 * slot.length)];
    }

    /** Quantizes x[xo .. xo + k) (k a multiple of 256) into elements [o, o + k) of this buffer. */
    void quantize(float[] x, int xo, int k, int o) {
        for (int b = 0; b < k / BLOCK; b++) block(x, xo + BLOCK * b, o + BLOCK * b);
    }

    private void block(float[] x, int xo, int o) {
        if (QuantGemv.KQ_FLOAT) KQuantFloat.xsums(x, xo, xs, o / BLOCK * KQuantFloat.XS);   // read only by the float kernel
        FloatVector amaxV = FloatVector.zero(F);
        for (int j = 0; j < BLOCK; j += L) amaxV = amaxV.max(FloatVector.fromArray(F, x, xo + j).abs());
        float amax = amaxV.reduceLanes(VectorOperators.MAX);
        int bi = o / BLOCK;
        float iscale = 0f;
        if (amax > 0 && amax < Float.POSITIVE_INFINITY) {
            int first = 0;
            while (Math.abs(x[xo + first]) != amax) first++;
            iscale = -127f / x[xo + first];
        }
        if (!(amax < Float.POSITIVE_INFINITY) || Float.isInfinite(iscale) || iscale == 0f) {
            // NaN or infinite values: d = NaN; zero, or so small (below 127 / Float.MAX_VALUE) that the scale
            // overflows: d = 0 (ggml would compute garbage codes there)
            java.util.Arrays.fill(q, o, o + BLOCK, (short) 0);
            java.util.Arrays.fill(p4, o, o + BLOCK, (short) 0);
            java.util.Arrays.fill(p6, o, o + BLOCK, (short) 0);
            java.util.Arrays.fill(bsum, o / 32, o / 32 + BLOCK / 32, 0);
            java.util.Arrays.fill(bsum16, o / 16, o / 16 + BLOCK / 16, 0);
            d[bi] = amax < Float.POSITIVE_INFINITY ? 0f : Float.NaN;
            return;
        }
        for (int j = 0; j < BLOCK; j += 16) {
            IntVector s = IntVector.zero(I);
            for (int l = 0; l < 16; l += L) {
                // ggml's nearest_int: the float sum rounds to an integer, read off the mantissa
                IntVector v = FloatVector.fromArray(F, x, xo + j + l).mul(iscale).add(12582912f).reinterpretAsInts()
                        .and(0x007fffff).sub(0x00400000).min(127);
                s = s.add(v);
                ((ShortVector) v.convertShape(VectorOperators.I2S, SH, 0)).intoArray(q, o + j + l);
            }
            bsum16[(o + j) / 16] = s.reduceLanes(VectorOperators.ADD);
        }
        for (int g = o / 32; g < (o + BLOCK) / 32; g++) bsum[g] = bsum16[2 * g] + bsum16[2 * g + 1];
        int[] m4 = KQuantDot.PERM4, m6 = KQuantDot.PERM6;
        for (int i = 0; i < BLOCK; i++) {
            p4[o + i] = q[o + m4[i]];
            p6[o + i] = q[o + m6[i]];
        }
        d[bi] = 1 / iscale;
    }

    /** Code i (a test view). */
    public int code(int i) { return q[i]; }

    /** Scale of block b (a test view). */
    public float scale(int b) { return d[b]; }

    /** Code sum of the 32 elements of group g (a test view). */
    public int groupSum(int g) { return bsum[g]; }

    /** Code sum of the 16 elements of group g (a test view). */
    public int groupSum16(int g) { return bsum16[g]; }

    /** Quantizes x[xo .. xo + k) into a fresh buffer (tests and the scalar twin's comparison). */
    public static Q8K of(float[] x, int xo, int k) {
        if (k % BLOCK != 0) throw new IllegalArgumentException(k + " is not a multiple of " + BLOCK);
        Q8K a = new Q8K();
        a.ensure(k);
        a.quantize(x, xo, k, 0);
        return a;
    }
}
