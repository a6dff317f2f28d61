package dev.jseek.train;

import dev.jseek.fp8.Fp8Linear;
import dev.jseek.fp8.Fp8Tensor;
import dev.jseek.fp8.ScaleFormat;
import dev.jseek.kernels.Gemm;

/**
 * Linear layer without bias on float arenas (report §3.3: the three GEMMs of every Linear). W is [out, in] row-major
 * (HF layout), X is [m, in], Y is [m, out].
 * <ul>
 *   <li>Fprop: Y = X W^T</li>
 *   <li>Dgrad (input part of backward): dX += dY W</li>
 *   <li>Wgrad (weight part of backward): dW += dY^T X</li>
 * </ul>
 * Forward saves nothing: backward needs X (the caller's saved activation) and W. The overloads taking a
 * {@link Precision} run the same GEMMs in BF16 ({@link Bf16Linear}: both operands rounded to bfloat16, FP32
 * accumulation) or in FP8 when asked ({@link Fp8Linear}: X and dY in 1x128 tiles, W in 128x128
 * blocks, Wgrad operands re-quantized in 128x1 tiles; FP32 outputs and accumulation). The {@code fp8*} methods take
 * operands the caller quantized already (read back from the FP8 activation cache, {@link ActCache}).
 *
 * <p>The modules call the {@link View} forms (shapes checked: X [m, in], W [out, in], Y and dY [m, out]); the array
 * forms underneath are the kernels' entry points.
 */
public final class Linear {
    private Linear() {}

    private static final int P_FWD = Profiler.section("gemm fprop (all Linear)"),
            P_DGRAD = Profiler.section("gemm dgrad (all Linear)"), P_WGRAD = Profiler.section("gemm wgrad (all Linear)");

    /** Fprop: Y = X W^T (overwrites Y). */
    public static void forward(Precision prec, View y, View x, View w) {
        shapes("Fprop", x, w, y);
        forward(prec, y.a(), y.off(), x.a(), x.off(), w.a(), w.off(), x.rows(), w.cols(), w.rows());
    }

    /** Dgrad (input part of backward): dX += dY W. */
    public static void backwardInput(Precision prec, View dx, View dy, View w) {
        shapes("Dgrad", dx, w, dy);
        backwardInput(prec, dx.a(), dx.off(), dy.a(), dy.off(), w.a(), w.off(), dy.rows(), w.cols(), w.rows());
    }

    /** Wgrad (weight part of backward): dW += dY^T X. */
    public static void backwardWeight(Precision prec, View dw, View dy, View x) {
        shapes("Wgrad", x, dw, dy);
        backwardWeight(prec, dw.a(), dw.off(), dy.a(), dy.off(), x.a(), x.off(), x.rows(), dw.cols(), dw.rows());
    }

    /** FP8 Fprop Y = X W^T with X already quantized (1x128 tiles). */
    static void fp8Forward(View y, Fp8Tensor x, View w) {
        if (y.rows() != x.rows() || y.cols() != w.rows() || x.cols() != w.cols() || !y.contiguous())
            throw new IllegalArgumentException("FP8 Fprop shapes: X [" + x.rows() + ", " + x.cols() + "], W [" + w.rows() + ", " + w.cols() + "]");
        fp8Forward(y.a(), y.off(), x, w.a(), w.off(), w.rows());
    }

    /** FP8 Dgrad dX += dY W with dY already quantized (1x128 tiles). */
    static void fp8BackwardInput(View dx, Fp8Tensor dy, View w) {
        if (dx.rows() != dy.rows() || dx.cols() != w.cols() || dy.cols() != w.rows() || !dx.contiguous())
            throw new IllegalArgumentException("FP8 Dgrad shapes: dY [" + dy.rows() + ", " + dy.cols() + "], W [" + w.rows() + ", " + w.cols() + "]");
        fp8BackwardInput(dx.a(), dx.off(), dy, w.a(), w.off(), w.cols());
    }

    /** FP8 Wgrad dW += dY^T X from 1x128-tiled dY and X (re-quantized 128x1 in their scale formats). */
    static void fp8BackwardWeight(View dw, Fp8Tensor dy, ScaleFormat dyFmt, Fp8Tensor x, ScaleFormat xFmt) {
        fp8BackwardWeight(dw.a(), dw.off(), dy, dyFmt, x, xFmt);
    }

    /** FP8 Wgrad dW += dY^T X with X's Wgrad operand given. */
    static void fp8BackwardWeight(View dw, Fp8Tensor dy, ScaleFormat dyFmt, Fp8Tensor xWgrad) {
        fp8BackwardWeight(dw.a(), dw.off(), dy, dyFmt, xWgrad);
    }

    /** X [m, in], W [out, in], Y [m, out], all contiguous. */
    private static void shapes(String op, View x, View w, View y) {
        if (x.cols() != w.cols() || y.cols() != w.rows() || x.rows() != y.rows() || !x.contiguous() || !y.contiguous() || !w.contiguous())
            throw new IllegalArgumentException(op + " shapes: X [" + x.rows() + ", " + x.cols() + "], W [" + w.rows() + ", "
                    + w.cols() + "], Y [" + y.rows() + ", " + y.cols() + "] (strides " + x.stride() + ", " + y.stride() + ")");
    }

    /** Y[m, out] = X[m, in] W^T (overwrites Y). */
    public static void forward(float[] y, int yOff, float[] x, int xOff, float[] w, int wOff, int m, int in, int out) {
        sgemm(P_FWD, m, false, true, m, out, in, x, xOff, in, w, wOff, in, 0f, y, yOff, out);
    }

    /** dX[m, in] += dY[m, out] W. */
    public static void backwardInput(float[] dx, int dxOff, float[] dy, int dyOff, float[] w, int wOff, int m, int in, int out) {
        sgemm(P_DGRAD, m, false, false, m, in, out, dy, dyOff, out, w, wOff, in, 1f, dx, dxOff, in);
    }

    /** dW[out, in] += dY[m, out]^T X[m, in]. */
    public static void backwardWeight(float[] dw, int dwOff, float[] dy, int dyOff, float[] x, int xOff, int m, int in, int out) {
        sgemm(P_WGRAD, m, true, false, out, in, m, dy, dyOff, out, x, xOff, in, 1f, dw, dwOff, in);
    }

    /** C = op(A) op(B) + beta C by {@link Gemm#sgemm} (alpha 1), counted and timed in profiler {@code section}; nothing for 0 rows. */
    private static void sgemm(int section, int rows, boolean ta, boolean tb, int m, int n, int k, float[] a, int aOff, int lda,
                              float[] b, int bOff, int ldb, float beta, float[] c, int cOff, int ldc) {
        if (rows == 0) return;
        long t0 = Profiler.start();
        Gemm.sgemm(ta, tb, m, n, k, 1f, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
        Profiler.gemm(m, n, k);
        Profiler.stop(section, t0);
    }

    private static final int FORWARD = 0, BACKWARDINPUT = 1, BACKWARDWEIGHT = 2;

    /** A BF16 GEMM ({@link Bf16Linear}), timed in the same profiler sections as the FP32 ones. */
    private static void bf16(int op, float[] c, int cOff, float[] a, int aOff, float[] b, int bOff, int m, int in, int out) {
        if (m == 0) return;
        long t0 = Profiler.start();
        switch (op) {
            case FORWARD -> { Bf16Linear.forward(c, cOff, a, aOff, b, bOff, m, in, out); Profiler.gemm(m, out, in); Profiler.stop(P_FWD, t0); }
            case BACKWARDINPUT -> { Bf16Linear.backwardInput(c, cOff, a, aOff, b, bOff, m, in, out); Profiler.gemm(m, in, out); Profiler.stop(P_DGRAD, t0); }
            default -> { Bf16Linear.backwardWeight(c, cOff, a, aOff, b, bOff, m, in, out); Profiler.gemm(out, in, m); Profiler.stop(P_WGRAD, t0); }
        }
    }

    /**
     * Scale format of the float-operand FP8 path: its Linear input, weight and output gradient are quantized in one
     * format ({@link Fp8Linear} takes one), the one {@link Fp8Recipe} gives all three.
     */
    private static final ScaleFormat FLOAT_OPERANDS = Fp8Recipe.LINEAR_INPUT.scales();

    static {
        if (Fp8Recipe.WEIGHT.scales() != FLOAT_OPERANDS || Fp8Recipe.OUTPUT_GRAD.scales() != FLOAT_OPERANDS)
            throw new ExceptionInInitializerError("Fp8Recipe: LINEAR_INPUT, WEIGHT and OUTPUT_GRAD must share a scale format");
    }

    /** An FP8 GEMM ({@link Fp8Linear}, {@link #FLOAT_OPERANDS} scales), timed in the same profiler sections as the FP32 ones. */
    private static void fp8(int op, float[] c, int cOff, float[] a, int aOff, float[] b, int bOff, int m, int in, int out) {
        if (m == 0) return;
        long t0 = Profiler.start();
        switch (op) {
            case FORWARD -> { Fp8Linear.forward(c, cOff, a, aOff, b, bOff, m, in, out, FLOAT_OPERANDS); Profiler.gemm(m, out, in); Profiler.stop(P_FWD, t0); }
            case BACKWARDINPUT -> { Fp8Linear.backwardInput(c, cOff, a, aOff, b, bOff, m, in, out, FLOAT_OPERANDS); Profiler.gemm(m, in, out); Profiler.stop(P_DGRAD, t0); }
            default -> { Fp8Linear.backwardWeight(c, cOff, a, aOff, b, bOff, m, in, out, FLOAT_OPERANDS); Profiler.gemm(out, in, m); Profiler.stop(P_WGRAD, t0); }
        }
    }

    /** {@link #forward} in the given precision. */
    public static void forward(Precision prec, float[] y, int yOff, float[] x, int xOff, float[] w, int wOff, int m, int in, int out) {
        if (prec == Precision.FP8) fp8(FORWARD, y, yOff, x, xOff, w, wOff, m, in, out);
        else if (prec == Precision.BF16) bf16(FORWARD, y, yOff, x, xOff, w, wOff, m, in, out);
        else forward(y, yOff, x, xOff, w, wOff, m, in, out);
    }

    /** {@link #backwardInput} in the given precision. */
    public static void backwardInput(Precision prec, float[] dx, int dxOff, float[] dy, int dyOff, float[] w, int wOff, int m, int in, int out) {
        if (prec == Precision.FP8) fp8(BACKWARDINPUT, dx, dxOff, dy, dyOff, w, wOff, m, in, out);
        else if (prec == Precision.BF16) bf16(BACKWARDINPUT, dx, dxOff, dy, dyOff, w, wOff, m, in, out);
        else backwardInput(dx, dxOff, dy, dyOff, w, wOff, m, in, out);
    }

    /** {@link #backwardWeight} in the given precision. */
    public static void backwardWeight(Precision prec, float[] dw, int dwOff, float[] dy, int dyOff, float[] x, int xOff, int m, int in, int out) {
        if (prec == Precision.FP8) fp8(BACKWARDWEIGHT, dw, dwOff, dy, dyOff, x, xOff, m, in, out);
        else if (prec == Precision.BF16) bf16(BACKWARDWEIGHT, dw, dwOff, dy, dyOff, x, xOff, m, in, out);
        else backwardWeight(dw, dwOff, dy, dyOff, x, xOff, m, in, out);
    }

    /** FP8 Fprop Y[m, out] = X W^T with X quantized by the caller (1x128 tiles, [m, in]). */
    static void fp8Forward(float[] y, int yOff, Fp8Tensor x, float[] w, int wOff, int out) {
        long t0 = Profiler.start();
        Fp8Linear.forward(y, yOff, x, w, wOff, out);
        Profiler.gemm(x.rows(), out, x.cols());
        Profiler.stop(P_FWD, t0);
    }

    /** FP8 Dgrad dX[m, in] += dY W with dY quantized by the caller (1x128 tiles, [m, out]). */
    static void fp8BackwardInput(float[] dx, int dxOff, Fp8Tensor dy, float[] w, int wOff, int in) {
        long t0 = Profiler.start();
        Fp8Linear.backwardInput(dx, dxOff, dy, w, wOff, in);
        Profiler.gemm(dy.rows(), in, dy.cols());
        Profiler.stop(P_DGRAD, t0);
    }

    /** FP8 Wgrad dW += dY^T X from 1x128-tiled dY and X (re-quantized 128x1 in their scale formats). */
    static void fp8BackwardWeight(float[] dw, int dwOff, Fp8Tensor dy, ScaleFormat dyFmt, Fp8Tensor x, ScaleFormat xFmt) {
        long t0 = Profiler.start();
        Fp8Linear.backwardWeight(dw, dwOff, dy, dyFmt, x, xFmt);
        Profiler.gemm(dy.cols(), x.cols(), dy.rows());
        Profiler.stop(P_WGRAD, t0);
    }

    /** FP8 Wgrad dW += dY^T X with X's Wgrad operand (transposed, 1x128 tiles along tokens) given. */
    static void fp8BackwardWeight(float[] dw, int dwOff, Fp8Tensor dy, ScaleFormat dyFmt, Fp8Tensor xWgrad) {
        long t0 = Profiler.start();
        Fp8Linear.backwardWeight(dw, dwOff, dy, dyFmt, xWgrad);
        Profiler.gemm(dy.cols(), xWgrad.rows(), dy.rows());
        Profiler.stop(P_WGRAD, t0);
    }
}
