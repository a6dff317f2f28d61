package dev.jseek.fp8;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.kernels.Parallel;
import dev.jseek.tensor.Fp8;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The Vector API tile quantizer against its scalar twins, bit for bit: the encoder {@link E4m3Vector#encodeDiv} against
 * the canonical {@link Fp8#floatToE4m3} at every E4M3 rounding boundary in [-512, 512] (each midpoint and its float
 * neighbours), every subnormal-range midpoint, +-0, a strided sweep of all floats up to 512 and 2M log-uniform random
 * floats; amax and the scaled decode (all 256 codes, NaN codes included); and {@link TileQuantizer#quantize},
 * {@link TileQuantizer#quantizeRowsInto}, {@link TileQuantizer#dequantizeRowsInto}, both {@code wgradOperand}s,
 * {@link Fp8Tensor#dequantize} and {@link Fp8Tensor#transpose} against {@link ScalarTileQuantizer} on odd shapes
 * (not multiples of 128 or of the vector length, offsets != 0, sizes on both sides of the parallel threshold), for
 * both scale formats, with the same error messages on non-finite input.
 */
class TileQuantizerVectorTest {
    static final ScaleFormat[] FMTS = ScaleFormat.values();

    /** Vector encode (y = x / s) of all of xs against the scalar encoder of the same quotient, element by element. */
    static void assertEncodesLikeScalar(float[] xs, float s) {
        int n = xs.length, off = 3;                      // odd offsets on both sides
        float[] x = new float[n + off];
        System.arraycopy(xs, 0, x, off, n);
        byte[] got = new byte[n + 5];
        E4m3Vector.encodeDiv(x, off, s, got, 5, n);
        for (int i = 0; i < n; i++) {
            byte want = Fp8.floatToE4m3(xs[i] / s);
            if (got[5 + i] != want) {
                float v = xs[i];
                fail(String.format("x = %s (bits %08x) / %s: vector code %02x, scalar %02x", v, Float.floatToRawIntBits(v), s,
                        got[5 + i] & 0xFF, want & 0xFF));
            }
        }
    }

    /** Adds v, its neighbours up to k ulps away on both sides, and the negations of all of them. */
    static void addAround(List<Float> out, float v, int k) {
        float lo = v, hi = v;
        out.add(v);
        out.add(-v);
        for (int i = 0; i < k; i++) {
            lo = Math.nextDown(lo);
            hi = Math.nextUp(hi);
            out.add(lo);
            out.add(hi);
            out.add(-lo);
            out.add(-hi);
        }
    }

    static float[] toArray(List<Float> l) {
        float[] a = new float[l.size()];
        for (int i = 0; i < a.length; i++) a[i] = l.get(i);
        return a;
    }

    /**
     * The vector paths run, at the width asked for: surefire runs this class twice, at the platform's width and, in
     * the {@code vector-256} execution, with {@code -Djseek.vectorBits=256} (8 lanes), so the narrow path is tested
     * on a 512-bit machine too.
     */
    @Test
    void vectorPathIsActiveAtTheConfiguredWidth() {
        assertTrue(E4m3Vector.VECTOR && E4m3Vector.L >= 8, "vector lanes: " + E4m3Vector.L);
        String bits = System.getProperty("jseek.vectorBits");
        if (bits != null && !bits.isBlank()) {
            assertEquals(Integer.parseInt(bits.trim()) / 32, E4m3Vector.L, "E4M3 lanes at jseek.vectorBits=" + bits);
            assertEquals(Integer.parseInt(bits.trim()) / 32, dev.jseek.kernels.Vec.LANES, "kernel lanes at jseek.vectorBits=" + bits);
        }
    }

    @Test
    void encoderMatchesTheScalarEncoderAtEveryRoundingBoundaryUpTo512() {
        List<Float> xs = new ArrayList<>();
        // the 127 non-negative finite E4M3 values, then the values of the next binade (480, 512) for the saturation edge
        List<Double> grid = new ArrayList<>();
        for (int c = 0; c <= 0x7E; c++) grid.add((double) Fp8.e4m3ToFloat((byte) c));
        grid.add(480.0);
        grid.add(512.0);
        for (int i = 0; i < grid.size(); i++) {
            addAround(xs, (float) (double) grid.get(i), 3);                // the values themselves
            if (i + 1 < grid.size()) {
                double mid = (grid.get(i) + grid.get(i + 1)) / 2;          // exact in float (4 significant bits)
                assertEquals(mid, (double) (float) mid, 0.0);
                addAround(xs, (float) mid, 3);                             // midpoint and 1..3 ulps either side
            }
        }
        // all subnormal-range midpoints (k + 1/2) 2^-9 and the smallest-normal edge 2^-6, explicitly
        for (int k = 0; k < 8; k++) addAround(xs, (float) ((k + 0.5) * 0x1p-9), 3);
        addAround(xs, 0x1p-6f, 3);
        xs.add(0f);
        xs.add(-0f);
        xs.add(Float.MIN_VALUE);
        xs.add(-Float.MIN_VALUE);
        xs.add(Float.MIN_NORMAL);
        float[] a = toArray(xs);
        assertTrue(a.length > 3000, "boundaries tested: " + a.length);
        assertEncodesLikeScalar(a, 1f);
        // the sign of zero survives the division and the encoder
        byte[] z = new byte[2 * E4m3Vector.L];
        float[] zeros = new float[2 * E4m3Vector.L];
        for (int i = 1; i < zeros.length; i += 2) zeros[i] = -0f;
        E4m3Vector.encodeDiv(zeros, 0, 3f, z, 0, zeros.length);
        for (int i = 0; i < z.length; i++) assertEquals(i % 2 == 0 ? 0 : (byte) 0x80, z[i], "zero " + i);
    }

    @Test
    void encoderMatchesOnAStridedSweepOfAllFloatsUpTo512() {
        int top = Float.floatToRawIntBits(512f), stride = 251;
        float[] a = new float[2 * (top / stride + 1)];
        int n = 0;
        for (int b = 0; b <= top; b += stride) {
            a[n++] = Float.intBitsToFloat(b);
            a[n++] = -Float.intBitsToFloat(b + 7 <= top ? b + 7 : b);
        }
        assertEncodesLikeScalar(java.util.Arrays.copyOf(a, n), 1f);
    }

    @Test
    void encoderMatchesOnRandomLogUniformFloatsAndScales() {
        SplittableRandom r = new SplittableRandom(11);
        int n = 1 << 21;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            float v = (float) Math.scalb(1 + r.nextDouble(), r.nextInt(-30, 10));   // |x| in [2^-30, 2^10)
            x[i] = r.nextBoolean() ? -v : v;
        }
        assertEncodesLikeScalar(x, 1f);
        // a non-power-of-two scale: the quotient x / s is an IEEE division in both paths
        float[] part = java.util.Arrays.copyOf(x, 1 << 18);
        assertEncodesLikeScalar(part, 0.7371f);
        assertEncodesLikeScalar(part, 3.1e-3f);
        assertEncodesLikeScalar(part, 0x1p-7f);
    }

    @Test
    void amaxAndScaledDecodeMatchScalar() {
        SplittableRandom r = new SplittableRandom(12);
        for (int n : new int[] {0, 1, 7, 15, 16, 17, 31, 33, 100, 128, 129}) {
            float[] x = TileQuantizerTest.hard(r, n + 9);
            int off = r.nextInt(9);
            float want = 0f;
            for (int i = 0; i < n; i++) want = Math.max(want, Math.abs(x[off + i]));
            assertEquals(Float.floatToRawIntBits(want), E4m3Vector.amaxBits(x, off, n), "n " + n);
            if (n > 0) {
                x[off + r.nextInt(n)] = r.nextBoolean() ? Float.NaN : Float.NEGATIVE_INFINITY;
                assertTrue(E4m3Vector.amaxBits(x, off, n) >= E4m3Vector.INF_BITS, "non-finite seen, n " + n);
            }
        }
        byte[] codes = new byte[256 + 21];
        for (int c = 0; c < codes.length; c++) codes[c] = (byte) (c * 37 + 5);   // every code, NaN codes included
        for (float s : new float[] {1f, 0.37f, 1e-4f / 448f, 0x1p-20f, 3.3e30f}) {
            for (int off : new int[] {0, 3}) {
                int n = codes.length - off - 2;
                float[] got = new float[n + 4], gotEach = new float[n + 4], sc = new float[n + 1];
                for (int i = 0; i < sc.length; i++) sc[i] = s * (1 + i % 5);
                E4m3Vector.decodeMul(codes, off, s, got, 4, n);
                E4m3Vector.decodeMulEach(codes, off, sc, 1, gotEach, 4, n);
                for (int i = 0; i < n; i++) {
                    assertEquals(Float.floatToIntBits(E4m3.decode(codes[off + i]) * s), Float.floatToIntBits(got[4 + i]), "code " + codes[off + i] + " s " + s);
                    assertEquals(Float.floatToIntBits(E4m3.decode(codes[off + i]) * sc[1 + i]), Float.floatToIntBits(gotEach[4 + i]));
                }
            }
        }
    }

    static int[] bits(float[] a) {
        int[] b = new int[a.length];
        for (int i = 0; i < a.length; i++) b[i] = Float.floatToIntBits(a[i]);
        return b;
    }

    static void assertSame(Fp8Tensor want, Fp8Tensor got, String what) {
        assertEquals(want.rows(), got.rows(), what);
        assertEquals(want.cols(), got.cols(), what);
        assertEquals(want.tileRows(), got.tileRows(), what);
        assertEquals(want.tileCols(), got.tileCols(), what);
        assertArrayEquals(want.codes(), got.codes(), what + ": codes");
        assertArrayEquals(bits(want.scales()), bits(got.scales()), what + ": scales");
    }

    /** Odd shapes: small ones, and ones above the parallel threshold (rows * cols >= 2^16). */
    static final int[][] SHAPES = {{1, 1}, {3, 5}, {5, 17}, {7, 100}, {2, 129}, {33, 250}, {130, 131}, {300, 257}, {259, 390}};

    @Test
    void quantizeMatchesTheScalarTwinForEveryTileShape() {
        SplittableRandom r = new SplittableRandom(13);
        int[][] tiles = {{1, 128}, {128, 128}, {128, 1}, {1, 7}, {3, 5}, {2, 20}, {1, 1}};
        for (int[] sh : SHAPES)
            for (ScaleFormat fmt : FMTS) {
                int off = 1 + r.nextInt(20);
                float[] x = TileQuantizerTest.hard(r, off + sh[0] * sh[1] + 3);
                for (int[] t : tiles) {
                    if ((long) sh[0] * sh[1] > 20000 && t[1] < 20 && !(t[0] == 128 && t[1] == 1)) continue;   // keep it quick
                    String what = sh[0] + "x" + sh[1] + " in " + t[0] + "x" + t[1] + " " + fmt;
                    assertSame(ScalarTileQuantizer.quantize(x, off, sh[0], sh[1], t[0], t[1], fmt),
                            TileQuantizer.quantize(x, off, sh[0], sh[1], t[0], t[1], fmt), what);
                }
            }
    }

    @Test
    void rowsIntoAndBackMatchTheScalarTwins() {
        SplittableRandom r = new SplittableRandom(14);
        for (int[] sh : SHAPES)
            for (ScaleFormat fmt : FMTS) {
                int rows = sh[0], cols = sh[1], off = 5, co = 11, so = 2, sc = (cols + 127) / 128;
                float[] x = TileQuantizerTest.hard(r, off + rows * cols);
                byte[] c1 = new byte[co + rows * cols + 1], c2 = c1.clone();
                float[] s1 = new float[so + rows * sc], s2 = s1.clone();
                ScalarTileQuantizer.quantizeRowsInto(x, off, rows, cols, fmt, c1, co, s1, so);
                TileQuantizer.quantizeRowsInto(x, off, rows, cols, fmt, c2, co, s2, so);
                String what = rows + "x" + cols + " " + fmt;
                assertArrayEquals(c1, c2, what);
                assertArrayEquals(bits(s1), bits(s2), what);
                float[] d1 = new float[7 + rows * cols], d2 = new float[7 + rows * cols];
                ScalarTileQuantizer.dequantizeRowsInto(c1, co, s1, so, rows, cols, d1, 7);
                TileQuantizer.dequantizeRowsInto(c1, co, s1, so, rows, cols, d2, 7);
                assertArrayEquals(bits(d1), bits(d2), what);
            }
        var e = assertThrows(IllegalArgumentException.class,
                () -> TileQuantizer.quantizeRowsInto(new float[256], 0, 2, 128, ScaleFormat.FP32, new byte[255], 0, new float[2], 0));
        assertTrue(e.getMessage().contains("codes of 255 bytes"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> TileQuantizer.dequantizeRowsInto(new byte[256], 0, new float[2], 1, 2, 128, new float[256], 0));
        assertTrue(e.getMessage().contains("scales of 2 floats from offset 1"), e.getMessage());
    }

    @Test
    void wgradOperandsMatchTheScalarTwins() {
        SplittableRandom r = new SplittableRandom(15);
        for (int[] sh : SHAPES)
            for (ScaleFormat fmt : FMTS) {
                int tokens = sh[0], ch = sh[1], off = 9;
                float[] x = TileQuantizerTest.hard(r, off + tokens * ch);
                String what = tokens + "x" + ch + " " + fmt;
                assertSame(ScalarTileQuantizer.wgradOperand(x, off, tokens, ch, fmt), TileQuantizer.wgradOperand(x, off, tokens, ch, fmt), what);
                Fp8Tensor act = TileQuantizer.activation(x, off, tokens, ch, fmt);
                assertSame(ScalarTileQuantizer.wgradOperand(act, fmt), TileQuantizer.wgradOperand(act, fmt), what + " from FP8");
                // the transposed layout equals quantize(..., 128, 1).transpose() (the documented identity)
                assertSame(TileQuantizer.quantize(x, off, tokens, ch, 128, 1, fmt).transpose(), TileQuantizer.wgradOperand(x, off, tokens, ch, fmt), what);
            }
    }

    @Test
    void dequantizeAndTransposeMatchTheScalarTwinsIncludingNaNCodes() {
        SplittableRandom r = new SplittableRandom(16);
        int[][] tiles = {{1, 128}, {128, 128}, {128, 1}, {3, 5}, {2, 20}, {1, 16}};
        for (int[] sh : SHAPES)
            for (int[] t : tiles) {
                int rows = sh[0], cols = sh[1];
                byte[] codes = new byte[rows * cols];
                r.nextBytes(codes);
                float[] scales = new float[((rows + t[0] - 1) / t[0]) * ((cols + t[1] - 1) / t[1])];
                for (int i = 0; i < scales.length; i++) scales[i] = (float) Math.scalb(1 + r.nextDouble(), r.nextInt(-30, 8));
                Fp8Tensor q = new Fp8Tensor(rows, cols, t[0], t[1], codes, scales);
                String what = rows + "x" + cols + " in " + t[0] + "x" + t[1];
                assertArrayEquals(bits(ScalarTileQuantizer.dequantize(q)), bits(q.dequantize()), what);
                assertSame(ScalarTileQuantizer.transpose(q), q.transpose(), what);
            }
    }

    @Test
    void resultsDoNotDependOnTheSplitInsideAParallelRegion() {
        SplittableRandom r = new SplittableRandom(17);
        int rows = 300, cols = 257;
        float[] x = TileQuantizerTest.hard(r, rows * cols);
        Fp8Tensor[] got = new Fp8Tensor[4];
        Parallel.parallelFor(2, (i, w) -> {                 // nested calls run serially on their thread
            got[2 * i] = TileQuantizer.weight(x, rows, cols, ScaleFormat.FP32);
            got[2 * i + 1] = TileQuantizer.wgradOperand(x, 0, rows, cols, ScaleFormat.UE8M0);
        });
        Fp8Tensor w = ScalarTileQuantizer.quantize(x, 0, rows, cols, 128, 128, ScaleFormat.FP32);
        Fp8Tensor g = ScalarTileQuantizer.wgradOperand(x, 0, rows, cols, ScaleFormat.UE8M0);
        for (int i = 0; i < 2; i++) {
            assertSame(w, got[2 * i], "weight, nested " + i);
            assertSame(g, got[2 * i + 1], "wgrad, nested " + i);
        }
    }

    static String message(Runnable f) {
        return assertThrows(IllegalArgumentException.class, f::run).getMessage();
    }

    @Test
    void nonFiniteInputGivesTheScalarTwinsErrorWhateverTheSplit() {
        SplittableRandom r = new SplittableRandom(18);
        for (int[] sh : new int[][] {{7, 300}, {300, 257}}) {
            int rows = sh[0], cols = sh[1];
            float[] x = TileQuantizerTest.hard(r, rows * cols);
            // several bad values: the first in tile order differs from the first in row-major or channel-major order
            x[(rows - 1) * cols + 3] = Float.NaN;
            x[(rows / 2) * cols + cols - 2] = Float.POSITIVE_INFINITY;
            x[2 * cols + 200] = Float.NEGATIVE_INFINITY;
            for (ScaleFormat fmt : FMTS)
                for (int[] t : new int[][] {{1, 128}, {128, 128}, {128, 1}, {3, 5}}) {
                    String want = message(() -> ScalarTileQuantizer.quantize(x, 0, rows, cols, t[0], t[1], fmt));
                    assertEquals(want, message(() -> TileQuantizer.quantize(x, 0, rows, cols, t[0], t[1], fmt)), t[0] + "x" + t[1]);
                }
            String want = message(() -> ScalarTileQuantizer.quantizeRowsInto(x, 0, rows, cols, ScaleFormat.FP32, new byte[rows * cols], 0,
                    new float[rows * 3], 0));
            assertEquals(want, message(() -> TileQuantizer.quantizeRowsInto(x, 0, rows, cols, ScaleFormat.FP32, new byte[rows * cols], 0,
                    new float[rows * 3], 0)));
            want = message(() -> ScalarTileQuantizer.wgradOperand(x, 0, rows, cols, ScaleFormat.FP32));
            assertEquals(want, message(() -> TileQuantizer.wgradOperand(x, 0, rows, cols, ScaleFormat.FP32)));
            assertTrue(want.contains("NaN at [3, " + (rows - 1) + "]"), want);          // channel-major: [channel, token]
        }
        // NaN codes in an FP8 source of the Wgrad re-quantization
        byte[] codes = new byte[300 * 257];
        codes[250 * 257 + 100] = (byte) 0xFF;
        codes[10 * 257 + 130] = 0x7F;
        Fp8Tensor q = new Fp8Tensor(300, 257, 1, 128, codes, new float[300 * 3]);
        assertEquals(message(() -> ScalarTileQuantizer.wgradOperand(q, ScaleFormat.FP32)), message(() -> TileQuantizer.wgradOperand(q, ScaleFormat.FP32)));
    }
}
