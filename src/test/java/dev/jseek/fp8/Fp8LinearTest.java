package dev.jseek.fp8;

import static org.junit.jupiter.api.Assertions.*;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The FP8 Linear (Fprop, Dgrad, Wgrad) against F64 products of the unquantized operands (quantization tolerance:
 * visible but small), and each GEMM against the F64 product of the exact operands it was given (FP32 bound).
 */
class Fp8LinearTest {
    static final int M = 300, IN = 200, OUT = 260;                          // tokens and channels not multiples of 128

    static float[] randn(SplittableRandom r, int n, double std) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (r.nextGaussian() * std);
        return x;
    }

    /** An element accessor: A(i, p). */
    interface Elem { double at(int i, int p); }

    static double[] product(int rows, int cols, int k, Elem a, Elem b) {
        double[] am = new double[rows * k], bm = new double[cols * k], c = new double[rows * cols];
        for (int i = 0; i < rows; i++) for (int p = 0; p < k; p++) am[i * k + p] = a.at(i, p);
        for (int j = 0; j < cols; j++) for (int p = 0; p < k; p++) bm[j * k + p] = b.at(j, p);
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) s += am[i * k + p] * bm[j * k + p];
                c[i * cols + j] = s;
            }
        return c;
    }

    static void assertQuantizationLevel(String what, float[] got, double[] want) {
        GemmError e = GemmError.of(got, want);
        System.out.printf("%s vs unquantized F64: max %.3e, mean %.3e%n", what, e.maxRel(), e.meanRel());
        assertTrue(e.meanRel() < 0.06 && e.maxRel() < 0.3, what + ": " + e);
        assertTrue(e.meanRel() > 0.003, what + ": the FP8 rounding should be visible, " + e);
    }

    @Test
    void fpropDgradWgradAreFp8ApproximationsOfTheExactLinear() {
        SplittableRandom r = new SplittableRandom(3);
        float[] x = randn(r, M * IN, 1.0), w = randn(r, OUT * IN, 0.05), dy = randn(r, M * OUT, 1e-3);
        for (ScaleFormat fmt : ScaleFormat.values()) {
            int off = 7;                                                     // arena offsets
            float[] y = new float[off + M * OUT];
            float[] xa = new float[off + x.length];
            System.arraycopy(x, 0, xa, off, x.length);
            Fp8Linear.forward(y, off, xa, off, w, 0, M, IN, OUT, fmt);
            double[] yRef = product(M, OUT, IN, (i, p) -> x[i * IN + p], (j, p) -> w[j * IN + p]);
            assertQuantizationLevel("Fprop " + fmt, java.util.Arrays.copyOfRange(y, off, off + M * OUT), yRef);

            float[] base = randn(r, M * IN, 0.01), dx = base.clone();
            Fp8Linear.backwardInput(dx, 0, dy, 0, w, 0, M, IN, OUT, fmt);
            double[] dxRef = product(M, IN, OUT, (i, p) -> dy[i * OUT + p], (j, p) -> w[p * IN + j]);
            float[] dxOnly = new float[dx.length];
            for (int i = 0; i < dx.length; i++) dxOnly[i] = dx[i] - base[i];
            assertQuantizationLevel("Dgrad " + fmt, dxOnly, dxRef);

            float[] dw = new float[OUT * IN];
            Fp8Linear.backwardWeight(dw, 0, dy, 0, x, 0, M, IN, OUT, fmt);
            double[] dwRef = product(OUT, IN, M, (o, t) -> dy[t * OUT + o], (i, t) -> x[t * IN + i]);
            assertQuantizationLevel("Wgrad " + fmt, dw, dwRef);
            // accumulation: a second call adds the same again
            float[] dw2 = dw.clone();
            Fp8Linear.backwardWeight(dw2, 0, dy, 0, x, 0, M, IN, OUT, fmt);
            for (int i = 0; i < dw.length; i++) assertEquals(2 * dw[i], dw2[i], Math.ulp(2 * dw[i]));
        }
    }

    @Test
    void eachGemmIsTheFp32PromotedProductOfItsQuantizedOperands() {
        SplittableRandom r = new SplittableRandom(4);
        float[] x = randn(r, M * IN, 1.0), w = randn(r, OUT * IN, 0.05), dy = randn(r, M * OUT, 1e-3);
        ScaleFormat fmt = ScaleFormat.FP32;
        Fp8Tensor xq = TileQuantizer.activation(x, M, IN, fmt), wq = TileQuantizer.weight(w, OUT, IN, fmt), dyq = TileQuantizer.activation(dy, M, OUT, fmt);
        // Dgrad: B(j = input channel, p = output channel) = deq(W)[p][j]; Wgrad: operands re-quantized in 128x1 tiles
        Fp8Tensor dyT = TileQuantizer.quantize(dyq.dequantize(), 0, M, OUT, 128, 1, fmt);
        Fp8Tensor xT = TileQuantizer.quantize(xq.dequantize(), 0, M, IN, 128, 1, fmt);
        Elem ex = (i, p) -> (double) E4m3.decode(xq.codes()[i * IN + p]) * xq.scaleAt(i, p);
        Elem ew = (j, p) -> (double) E4m3.decode(wq.codes()[j * IN + p]) * wq.scaleAt(j, p);
        Elem edy = (i, p) -> (double) E4m3.decode(dyq.codes()[i * OUT + p]) * dyq.scaleAt(i, p);
        Elem ewT = (j, p) -> (double) E4m3.decode(wq.codes()[p * IN + j]) * wq.scaleAt(p, j);
        Elem edyT = (o, t) -> (double) E4m3.decode(dyT.codes()[t * OUT + o]) * dyT.scaleAt(t, o);
        Elem exT = (i, t) -> (double) E4m3.decode(xT.codes()[t * IN + i]) * xT.scaleAt(t, i);

        float[] y = new float[M * OUT], dx = new float[M * IN], dw = new float[OUT * IN];
        Fp8Linear.forward(y, 0, x, 0, w, 0, M, IN, OUT, fmt);
        Fp8Linear.backwardInput(dx, 0, dy, 0, w, 0, M, IN, OUT, fmt);
        Fp8Linear.backwardWeight(dw, 0, dy, 0, x, 0, M, IN, OUT, fmt);
        check("Fprop", y, M, OUT, IN, ex, ew);
        check("Dgrad", dx, M, IN, OUT, edy, ewT);
        check("Wgrad", dw, OUT, IN, M, edyT, exT);
    }

    private static void check(String what, float[] got, int rows, int cols, int k, Elem a, Elem b) {
        double[] ref = product(rows, cols, k, a, b);
        double[] abs = product(rows, cols, k, (i, p) -> Math.abs(a.at(i, p)), (j, p) -> Math.abs(b.at(j, p)));
        int groups = (k + 127) / 128;
        for (int i = 0; i < got.length; i++) {
            double bound = (128 + groups + 2) * 0x1p-24 * abs[i];
            assertTrue(Math.abs(got[i] - ref[i]) <= bound, what + " element " + i + ": " + got[i] + " vs " + ref[i] + " (bound " + bound + ")");
        }
    }
}
