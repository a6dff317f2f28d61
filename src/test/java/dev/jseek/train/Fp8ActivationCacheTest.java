package dev.jseek.train;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.fp8.E4m3;
import dev.jseek.fp8.Fp8Tensor;
import dev.jseek.fp8.ScalarFp8Gemm;
import dev.jseek.fp8.ScaleFormat;
import dev.jseek.fp8.TileQuantizer;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The FP8 activation cache of a SwiGLU FFN (report §3.3.3): forward caches g and u in E4M3 (1x128 tiles) and
 * backward runs on the dequantized cache, with h recomputed from it. The oracle is composed independently from the
 * general tile quantizer ({@link TileQuantizer#quantize} with explicit tile shapes), the scalar FP8 GEMM and the
 * element-wise SwiGLU kernels (themselves tested against scalar twins in {@link FastKernelsTest}; an ulp of difference
 * there can move a tile's amax and so every code of the tile), with the transposes for Wgrad written out here, so the
 * module must match it bit for bit. A second oracle that feeds backward the unquantized g and u must differ by
 * quantization-sized amounts: that shows backward really reads the cache. Both the dense path
 * (input quantized from float, FP32 scales) and the routed-expert path (input read from an E4M3 cache with
 * power-of-two scales, a row range in the middle of the buffers, power-of-two dy scales) are checked.
 */
class Fp8ActivationCacheTest {
    static final int DIM = 200, INTER = 272;   // both span a partial second 128 tile

    /** A layout built in two passes (planning, then final) around an FFN and x/y buffers. */
    private record Built(ParamLayout pl, ActLayout al, SwiGluFfn f, int x, int y, Param wg, Param wu, Param wd, CacheSlot xC) {}

    private static Built build(ActLayout al, int rows, boolean routed) {
        ParamLayout pl = new ParamLayout();
        int x = al.alloc("x", (long) rows * DIM), y = al.alloc("y", (long) rows * DIM);
        SwiGluFfn f;
        Param wg, wu, wd;
        if (routed) {
            wg = pl.matrix("e.gate_proj.weight", INTER, DIM);
            wu = pl.matrix("e.up_proj.weight", INTER, DIM);
            wd = pl.matrix("e.down_proj.weight", DIM, INTER);
            f = new SwiGluFfn(DIM, INTER, "e.", al, rows);
        } else {
            f = new SwiGluFfn(pl.matrix("mlp.gate_proj.weight", INTER, DIM), pl.matrix("mlp.up_proj.weight", INTER, DIM),
                    pl.matrix("mlp.down_proj.weight", DIM, INTER), "mlp.", al, rows);
            wg = f.wg; wu = f.wu; wd = f.wd;
        }
        CacheSlot xC = al.cache(Fp8Recipe.EXPERT_INPUT, "x", rows, DIM);
        return new Built(pl, al, f, x, y, wg, wu, wd, xC);
    }

    private static Built build(int rows, boolean routed) {
        ActLayout plan = ActLayout.planning(false, true);
        build(plan, rows, routed);
        ActLayout al = ActLayout.recomputing(plan);
        Built b = build(al, rows, routed);
        al.checkAgainstPlan();
        return b;
    }

    // ---- the independent oracle ----

    private static Fp8Tensor tiles(float[] x, int rows, int cols, int tr, int tc, ScaleFormat f) {
        return TileQuantizer.quantize(x, 0, rows, cols, tr, tc, f);
    }

    private static float[] deq(Fp8Tensor t) {
        float[] o = new float[t.rows() * t.cols()];
        for (int r = 0; r < t.rows(); r++)
            for (int c = 0; c < t.cols(); c++) o[r * t.cols() + c] = E4m3.decode(t.codes()[r * t.cols() + c]) * t.scaleAt(r, c);
        return o;
    }

    private static float[] transpose(float[] x, int rows, int cols) {
        float[] t = new float[x.length];
        for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) t[c * rows + r] = x[r * cols + c];
        return t;
    }

    private static float[] mm(Fp8Tensor a, Fp8Tensor b) {
        float[] c = new float[a.rows() * b.rows()];
        ScalarFp8Gemm.gemm(a, b, c, false);
        return c;
    }

    /** Fprop: X [m, k] in 1x128 tiles (fmt), W [n, k] in 128x128 blocks (FP32). */
    private static float[] fprop(float[] x, int m, int k, ScaleFormat fmt, float[] w, int n) {
        return mm(tiles(x, m, k, 1, 128, fmt), tiles(w, n, k, 128, 128, ScaleFormat.FP32));
    }

    /** Dgrad: dY [m, n] in 1x128 tiles, W [n, k] blocks transposed (codes and scales moved, not re-quantized). */
    private static float[] dgrad(float[] dy, int m, int n, ScaleFormat fmt, float[] w, int k) {
        Fp8Tensor wq = tiles(w, n, k, 128, 128, ScaleFormat.FP32);
        return mm(tiles(dy, m, n, 1, 128, fmt), wq.transpose());
    }

    /** Wgrad: dW [n, k] = dY^T X; both 1x128-quantized, dequantized, transposed, re-quantized along tokens. */
    private static float[] wgrad(float[] dy, ScaleFormat dyFmt, float[] x, ScaleFormat xFmt, int m, int n, int k) {
        float[] dyT = transpose(deq(tiles(dy, m, n, 1, 128, dyFmt)), m, n), xT = transpose(deq(tiles(x, m, k, 1, 128, xFmt)), m, k);
        return mm(tiles(dyT, n, m, 1, 128, dyFmt), tiles(xT, k, m, 1, 128, xFmt));
    }

    private static float[] swiglu(float[] g, float[] u) {
        int n = g.length;
        float[] a = new float[3 * n];
        System.arraycopy(g, 0, a, 0, n);
        System.arraycopy(u, 0, a, n, n);
        dev.jseek.kernels.Silu.swiglu(a, 2 * n, a, 0, a, n, n);
        return slice(a, 2 * n, n);
    }

    private static double relL2(float[] got, int off, float[] want) {
        double num = 0, den = 0;
        for (int i = 0; i < want.length; i++) {
            double d = got[off + i] - want[i];
            num += d * d;
            den += (double) want[i] * want[i];
        }
        return Math.sqrt(num / den);
    }

    private static float[] slice(float[] a, int off, int n) { return java.util.Arrays.copyOfRange(a, off, off + n); }

    private static float[] add(float[] a, float[] b) {
        float[] c = new float[a.length];
        for (int i = 0; i < c.length; i++) c[i] = a[i] + b[i];
        return c;
    }

    /** Backward oracle from the given (cached or float) g and u. Returns {dx, dWg, dWu, dWd}. */
    private static float[][] backward(float[] x, ScaleFormat xFmt, float[] g, float[] u, float[] dy, ScaleFormat dyFmt,
                                      float[] wg, float[] wu, float[] wd, int m) {
        float[] dh = dgrad(dy, m, DIM, dyFmt, wd, INTER);
        int n = g.length;
        float[] a = new float[2 * n], d = new float[3 * n];
        System.arraycopy(g, 0, a, 0, n);
        System.arraycopy(u, 0, a, n, n);
        System.arraycopy(dh, 0, d, 0, n);
        dev.jseek.kernels.Silu.swigluBackward(a, 0, a, n, d, 0, d, n, d, 2 * n, n);
        float[] dg = slice(d, n, n), du = slice(d, 2 * n, n);
        float[] dx = add(dgrad(dg, m, INTER, ScaleFormat.FP32, wg, DIM), dgrad(du, m, INTER, ScaleFormat.FP32, wu, DIM));
        float[] h = swiglu(g, u);
        return new float[][] {dx, wgrad(dg, ScaleFormat.FP32, x, xFmt, m, INTER, DIM), wgrad(du, ScaleFormat.FP32, x, xFmt, m, INTER, DIM),
                wgrad(dy, dyFmt, h, ScaleFormat.FP32, m, DIM, INTER)};
    }

    private void check(boolean routed) {
        int rows = 23, r0 = routed ? 5 : 0, m = routed ? 13 : rows;
        ScaleFormat xFmt = routed ? ScaleFormat.UE8M0 : ScaleFormat.FP32, dyFmt = xFmt;
        Built b = build(rows, routed);
        assertTrue(b.al().fp8() && b.xC() != null);
        Arenas s = new Arenas(b.pl(), b.al());
        assertNotNull(s.cache);
        SwiGluFfn f = b.f();
        f.precision = Precision.FP8;
        Harness.randomParams(b.pl(), s.params, routed ? 11 : 12);
        SplittableRandom rnd = new SplittableRandom(routed ? 13 : 14);
        Fd.fillGaussian(s.acts, b.x(), rows * DIM, 1, rnd);
        float[] x = slice(s.acts, b.x() + r0 * DIM, m * DIM);
        SwiGluFfn.Input in;
        if (routed) {
            s.cache.storeE4m3(b.xC(), 0, s.acts, b.x(), rows, ScaleFormat.UE8M0);
            in = new SwiGluFfn.Input(-1, b.x(), b.xC(), ScaleFormat.UE8M0);
            java.util.Arrays.fill(s.acts, b.x(), b.x() + rows * DIM, Float.NaN); // the float input must not be read
        } else {
            in = new SwiGluFfn.Input(b.x(), b.x(), null, ScaleFormat.FP32);
        }
        float[] wg = slice(s.params, b.wg().offset(), INTER * DIM), wu = slice(s.params, b.wu().offset(), INTER * DIM), wd = slice(s.params, b.wd().offset(), DIM * INTER);

        f.forward(s, b.wg(), b.wu(), b.wd(), in, b.y(), r0, m);
        float[] g = fprop(x, m, DIM, xFmt, wg, INTER), u = fprop(x, m, DIM, xFmt, wu, INTER);
        // the cache holds exactly the 1x128 E4M3 tiles of the GEMM outputs (the FP8 GEMM is bit-exact to its twin)
        float[] gq = deq(tiles(g, m, INTER, 1, 128, ScaleFormat.FP32)), uq = deq(tiles(u, m, INTER, 1, 128, ScaleFormat.FP32));
        float[] got = new float[m * INTER];
        s.cache.loadE4m3(f.gC, r0, m, got, 0);
        assertArrayEquals(gq, got, "cached g");
        s.cache.loadE4m3(f.uC, r0, m, got, 0);
        assertArrayEquals(uq, got, "cached u");
        assertArrayEquals(fprop(swiglu(g, u), m, INTER, ScaleFormat.FP32, wd, DIM), slice(s.acts, b.y() + r0 * DIM, m * DIM), "forward y");

        float[] dy = new float[m * DIM];
        Fd.fillGaussian(dy, 0, dy.length, 1, rnd);
        System.arraycopy(dy, 0, s.dacts, b.y() + r0 * DIM, dy.length);
        // poison the float scratch copies: backward must refill them from the cache
        java.util.Arrays.fill(s.acts, f.g.acts(), f.g.acts() + rows * INTER, Float.NaN);
        java.util.Arrays.fill(s.acts, f.u.acts(), f.u.acts() + rows * INTER, Float.NaN);
        java.util.Arrays.fill(s.acts, f.h.acts(), f.h.acts() + rows * INTER, Float.NaN);
        f.backwardInput(s, b.wg(), b.wu(), b.wd(), in, b.y(), r0, m, dyFmt);
        f.backwardWeights(s, b.wg(), b.wu(), b.wd(), in, b.y(), r0, m, dyFmt);

        float[][] cached = backward(x, xFmt, gq, uq, dy, dyFmt, wg, wu, wd, m), plain = backward(x, xFmt, g, u, dy, dyFmt, wg, wu, wd, m);
        String[] names = {"dx", "dW_gate", "dW_up", "dW_down"};
        int[] offs = {b.x() + r0 * DIM, b.wg().offset(), b.wu().offset(), b.wd().offset()};
        for (int i = 0; i < 4; i++) {
            float[] arena = i == 0 ? s.dacts : s.grads;
            double ec = relL2(arena, offs[i], cached[i]), ep = relL2(arena, offs[i], plain[i]);
            System.out.printf("%s %s: rel L2 vs cached-g/u oracle %.2e, vs float-g/u oracle %.2e%n", routed ? "routed" : "dense", names[i], ec, ep);
            assertArrayEquals(cached[i], slice(arena, offs[i], cached[i].length), names[i] + " vs the cached oracle");
            assertTrue(ep > 1e-3, names[i] + ": backward does not read the FP8 cache (float-g/u oracle within " + ep + ")");
        }
    }

    @Test void denseFfnBackwardRunsOnTheFp8CachedSwiGluInputs() { check(false); }

    @Test void routedExpertRowsReadTheirInputFromThePowerOfTwoCache() { check(true); }

    @Test void fp8LayoutSavesMemory() {
        ActLayout plain = new ActLayout();
        build(plain, 64, false);
        ActLayout fp8 = build(64, false).al();
        long floats = 64L * (2 * DIM) * 4 + 3L * 64 * INTER * 4;   // x, y and g, u, h in float
        assertEquals(floats, plain.savedBytes());
        // fp8: x, y float; g, u, h one transient float slot each (sized for all rows) + E4M3 g, u, x (+ scales)
        long tiles = 64L * 3 * 2 + 64L * 2;   // 3 tiles per 272-wide row (g, u), 2 per 200-wide row (x)
        assertEquals(64L * 2 * DIM * 4 + 3L * 64 * INTER * 4 + 64L * (2 * INTER + DIM) + 4 * tiles, fp8.savedBytes());
        assertEquals(plain.actsSize() + 0L, fp8.actsSize(), "one FFN: the transient slots are as large as the buffers");
        assertTrue(fp8.dactsSize() > fp8.actsSize());
    }
}
