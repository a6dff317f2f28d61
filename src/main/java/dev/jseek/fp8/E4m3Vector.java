package dev.jseek.fp8;

import dev.jseek.tensor.Fp8;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API kernels of the E4M3 tile quantizer ({@link TileQuantizer}, report §3.3): the encoder of y = x / s, the tile
 * amax and the scaled decode, each bit-identical to its scalar twin ({@link Fp8#floatToE4m3} of the IEEE quotient,
 * {@code max |x|}, {@link E4m3#decode} times the scale), with scalar tails.
 *
 * <p>Encoder (finite y only; the callers check the tile amax first): with a = |bits(y)|,
 * <ul>
 *   <li>normal range |y| &gt;= 2^-6: round to nearest even to 3 mantissa bits on the float bits,
 *       a + 0x7FFFF + ((a &gt;&gt; 20) &amp; 1) (a carry out of the mantissa bumps the exponent, as it should), then
 *       the exponent+mantissa field &gt;&gt; 20 rebiased from 127 to 7 (minus 120 &lt;&lt; 3) and saturated to 448 (0x7E)
 *       (every |y| &gt; 448 is above 448 or rounds to 480 or more, so min(code, 0x7E) is the satfinite rule);</li>
 *   <li>subnormal range |y| &lt; 2^-6: the code is |y| 2^9 rounded to an integer (0..8; 8 is the smallest normal's
 *       code), by the magic number: |y| 2^9 + 2^23 is rounded to nearest even by the float addition to an integer in
 *       [2^23, 2^23 + 8], whose bits minus those of 2^23 are that integer (|y| 2^9 is exact);</li>
 *   <li>the sign to bit 7; the int lanes narrowed to bytes (I2B) and stored.</li>
 * </ul>
 * Decoder: the {@link E4m3#decodeShifted} bit trick times 2^120 (exact), then times the scale (the scalar's one
 * rounding); the NaN codes 0x7F/0xFF give NaN, as {@link E4m3#decode} does. Vectors are used when the preferred
 * species has at least 8 float lanes (a byte vector of 64 bits or more); otherwise everything runs the scalar twins.
 */
final class E4m3Vector {
    private E4m3Vector() {}

    static final VectorSpecies<Float> F = dev.jseek.kernels.Vec.F;
    static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    static final int L = F.length();
    static final boolean VECTOR = L >= 8;
    static final VectorSpecies<Byte> B = VECTOR ? VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 8)) : null;

    private static final int ABS = 0x7FFFFFFF;
    /** Float bits of +infinity: an |x| bit pattern at or above it is not finite. */
    static final int INF_BITS = 0x7F800000;
    /** Float bits of 2^-6, E4M3's smallest normal. */
    private static final int MIN_NORMAL_BITS = (127 - 6) << 23;
    /** Float exponent bias 127 to E4M3 bias 7, in the exponent+mantissa field shifted down by 20 bits. */
    private static final int REBIAS = (127 - 7) << 3;
    /** Float bits of 2^23 (the magic number). */
    private static final int MAGIC_BITS = 0x4B000000;

    /** E4M3 codes (as ints 0..255, sign in bit 7) of the finite lanes of y; see the class comment. */
    static IntVector encode(FloatVector y) {
        IntVector bits = y.reinterpretAsInts();
        IntVector a = bits.and(ABS);
        IntVector normal = a.add(a.lanewise(VectorOperators.LSHR, 20).and(1)).add(0x7FFFF)
                .lanewise(VectorOperators.LSHR, 20).sub(REBIAS).min(0x7E);
        IntVector sub = a.reinterpretAsFloats().mul(512f).add(0x1p23f).reinterpretAsInts().sub(MAGIC_BITS);
        return normal.blend(sub, a.lt(MIN_NORMAL_BITS)).or(bits.lanewise(VectorOperators.LSHR, 24).and(0x80));
    }

    /** Stores the low bytes of the lanes of {@code codes} at out[o, o + L). */
    private static void store(IntVector codes, byte[] out, int o) {
        ((ByteVector) codes.convertShape(VectorOperators.I2B, B, 0)).intoArray(out, o);
    }

    /** out[oo + i] = e4m3(x[xo + i] / s) for i in [0, n): IEEE division lane by lane. Every x must be finite. */
    static void encodeDiv(float[] x, int xo, float s, byte[] out, int oo, int n) {
        int i = 0;
        if (VECTOR) {
            FloatVector sv = FloatVector.broadcast(F, s);
            for (; i <= n - L; i += L) store(encode(FloatVector.fromArray(F, x, xo + i).div(sv)), out, oo + i);
        }
        for (; i < n; i++) out[oo + i] = Fp8.floatToE4m3(x[xo + i] / s);
    }

    /** Scalar twin of {@link #encodeDiv}. */
    static void encodeDivScalar(float[] x, int xo, float s, byte[] out, int oo, int n) {
        for (int i = 0; i < n; i++) out[oo + i] = Fp8.floatToE4m3(x[xo + i] / s);
    }

    /**
     * The bits of max |x[o + i]| over i in [0, n) (0 when n = 0): for finite data Float.intBitsToFloat of it is the
     * scalar max of Math.abs; a value &gt;= {@link #INF_BITS} means an infinity or NaN was seen.
     */
    static int amaxBits(float[] x, int o, int n) {
        int i = 0, m = 0;
        if (VECTOR && n >= L) {
            IntVector m0 = IntVector.zero(I), m1 = m0;
            for (; i <= n - 2 * L; i += 2 * L) {
                m0 = m0.max(FloatVector.fromArray(F, x, o + i).reinterpretAsInts().and(ABS));
                m1 = m1.max(FloatVector.fromArray(F, x, o + i + L).reinterpretAsInts().and(ABS));
            }
            if (i <= n - L) {
                m0 = m0.max(FloatVector.fromArray(F, x, o + i).reinterpretAsInts().and(ABS));
                i += L;
            }
            m = m0.max(m1).reduceLanes(VectorOperators.MAX);
        }
        for (; i < n; i++) m = Math.max(m, Float.floatToRawIntBits(x[o + i]) & ABS);
        return m;
    }

    /**
     * Column maxima of a [nr, nc] block at a[ao] with row stride {@code stride}: m[j] = bits of max over rows of
     * |a[ao + r*stride + j]| (see {@link #amaxBits}).
     */
    static void columnAmaxBits(float[] a, int ao, int stride, int nr, int nc, int[] m) {
        int j = 0;
        if (VECTOR) {
            for (; j <= nc - L; j += L) {
                IntVector v = IntVector.zero(I);
                for (int r = 0, o = ao + j; r < nr; r++, o += stride) v = v.max(FloatVector.fromArray(F, a, o).reinterpretAsInts().and(ABS));
                v.intoArray(m, j);
            }
        }
        for (; j < nc; j++) {
            int v = 0;
            for (int r = 0, o = ao + j; r < nr; r++, o += stride) v = Math.max(v, Float.floatToRawIntBits(a[o]) & ABS);
            m[j] = v;
        }
    }

    /**
     * Column-scaled encode of a [nr, nc] block: out[oo + r*os + j] = e4m3(a[ao + r*stride + j] / s[j]) (IEEE
     * division per element).
     */
    static void columnEncodeDiv(float[] a, int ao, int stride, int nr, int nc, float[] s, byte[] out, int oo, int os) {
        for (int r = 0; r < nr; r++) {
            int ar = ao + r * stride, orow = oo + r * os, j = 0;
            if (VECTOR)
                for (; j <= nc - L; j += L) store(encode(FloatVector.fromArray(F, a, ar + j).div(FloatVector.fromArray(F, s, j))), out, orow + j);
            for (; j < nc; j++) out[orow + j] = Fp8.floatToE4m3(a[ar + j] / s[j]);
        }
    }

    /** Decoded values of L codes at codes[o], as float bits of value * 2^-120 (NaN codes not yet handled). */
    private static IntVector shiftedBits(byte[] codes, int o) {
        IntVector v = (IntVector) ByteVector.fromArray(B, codes, o).convertShape(VectorOperators.B2I, I, 0);
        return v.and(0x80).lanewise(VectorOperators.LSHL, 24).or(v.and(0x7F).lanewise(VectorOperators.LSHL, 20));
    }

    /** value * scale of L codes: the exact value (shifted decode times 2^120), times s; NaN for the NaN codes. */
    private static FloatVector decodeTimes(byte[] codes, int o, FloatVector s) {
        IntVector bits = shiftedBits(codes, o);
        FloatVector v = bits.reinterpretAsFloats().mul(E4m3.SHIFT_UNDO).mul(s);
        return v.blend(Float.NaN, bits.and(0x07F00000).eq(0x07F00000).cast(F));
    }

    /** out[oo + i] = decode(codes[co + i]) * s for i in [0, n). */
    static void decodeMul(byte[] codes, int co, float s, float[] out, int oo, int n) {
        int i = 0;
        if (VECTOR) {
            FloatVector sv = FloatVector.broadcast(F, s);
            for (; i <= n - L; i += L) decodeTimes(codes, co + i, sv).intoArray(out, oo + i);
        }
        for (; i < n; i++) out[oo + i] = E4m3.decode(codes[co + i]) * s;
    }

    /** out[oo + i] = decode(codes[co + i]) * s[so + i] for i in [0, n) (a scale per element). */
    static void decodeMulEach(byte[] codes, int co, float[] s, int so, float[] out, int oo, int n) {
        int i = 0;
        if (VECTOR)
            for (; i <= n - L; i += L) decodeTimes(codes, co + i, FloatVector.fromArray(F, s, so + i)).intoArray(out, oo + i);
        for (; i < n; i++) out[oo + i] = E4m3.decode(codes[co + i]) * s[so + i];
    }
}
