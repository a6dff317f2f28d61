package dev.jseek.kernels.scalar;

import dev.jseek.tensor.Bf16;
import dev.jseek.tensor.Fp16;
import dev.jseek.tensor.Fp8;
import dev.jseek.tensor.Matrix;
import java.lang.foreign.ValueLayout;

/**
 * Scalar twin (test oracle) of {@link dev.jseek.kernels.WeightRows}: element-by-element decode of a weight of any
 * dtype with FP8 block scales applied (docs/architecture.md §2.3).
 */
public final class ScalarWeightRows {
    private ScalarWeightRows() {}

    /** Element (r, c) of w as float, FP8 block scale applied. */
    public static float get(Matrix w, int r, int c) {
        long idx = (long) r * w.cols() + c;
        float v = switch (w.dtype()) {
            case F32 -> w.data().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, idx);
            case BF16 -> Bf16.toFloat(w.data().getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, idx));
            case F16 -> Fp16.toFloat(w.data().getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, idx));
            case F8_E4M3 -> Fp8.e4m3ToFloat(w.data().get(ValueLayout.JAVA_BYTE, idx));
            case F8_E5M2 -> Fp8.e5m2ToFloat(w.data().get(ValueLayout.JAVA_BYTE, idx));
            default -> throw new IllegalArgumentException("unsupported weight dtype " + w.dtype());
        };
        if (w.scaleInv() != null)
            v *= w.scaleInv().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED,
                    (long) (r / Matrix.BLOCK) * Matrix.scaleCols(w.cols()) + c / Matrix.BLOCK);
        return v;
    }

    /** Writes row r of w (w.cols floats, block scales applied) into dst[dstOff ..]. */
    public static void decodeRow(Matrix w, int r, float[] dst, int dstOff) {
        for (int c = 0; c < w.cols(); c++) dst[dstOff + c] = get(w, r, c);
    }
}
