package dev.jseek.kernels.scalar;

import dev.jseek.tensor.Bf16;
import dev.jseek.tensor.Fp16;
import dev.jseek.tensor.Fp8;
import dev.jseek.tensor.Matrix;
import dev.jseek.tensor.QuantBlocks;
import java.lang.foreign.ValueLayout;

/**
 * Scalar twin (test oracle) of {@link dev.jseek.kernels.WeightRows}: element-by-element decode of a weight of any
 * dtype with FP8 block scales applied (docs/architecture.md §2.3); ggml block types through their scalar references
 * ({@link QuantBlocks}).
 */
public final class ScalarWeightRows {
    private ScalarWeightRows() {}

    /** Element (r, c) of w as float, FP8 block scale applied. */
    public static float get(Matrix w, int r, int c) {
        if (w.dtype().isBlock()) {
            float[] blk = new float[w.dtype().blockSize];
            int b = c / w.dtype().blockSize;
            QuantBlocks.dequantizeBlock(w.dtype(), w.data(), r * w.rowBytes() + (long) b * w.dtype().blockBytes, blk, 0);
            return blk[c - b * w.dtype().blockSize];
        }
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
        if (w.dtype().isBlock()) {
            for (int b = 0; b < w.cols() / w.dtype().blockSize; b++)
                QuantBlocks.dequantizeBlock(w.dtype(), w.data(), r * w.rowBytes() + (long) b * w.dtype().blockBytes, dst, dstOff + b * w.dtype().blockSize);
            return;
        }
        for (int c = 0; c < w.cols(); c++) dst[dstOff + c] = get(w, r, c);
    }
}
