package dev.jseek.kernels;

import dev.jseek.tensor.DType;
import dev.jseek.tensor.Matrix;

/**
 * Decodes rows of a weight of any dtype into floats (scales applied). SKELETON helper: scalar; the kernels work
 * vectorizes it (used by embedding lookup and by GEMM packing).
 */
public final class WeightRows {
    private WeightRows() {}

    /** Writes row r of w (w.cols floats, block scales applied) into dst[dstOff ..]. */
    public static void decodeRow(Matrix w, int r, float[] dst, int dstOff) {
        for (int c = 0; c < w.cols(); c++) dst[dstOff + c] = Gemm.get(w, r, c);
    }

    static float fp8ToFloat(DType d, byte b) {
        int v = b & 0xFF;
        int sign = (v & 0x80) != 0 ? -1 : 1;
        if (d == DType.F8_E4M3) {
            int e = (v >> 3) & 0xF, m = v & 7;
            if (e == 15 && m == 7) return Float.NaN;
            return sign * (e == 0 ? (m / 8f) * 0x1p-6f : (1 + m / 8f) * (float) Math.pow(2, e - 7));
        }
        int e = (v >> 2) & 0x1F, m = v & 3;
        if (e == 31) return m == 0 ? sign * Float.POSITIVE_INFINITY : Float.NaN;
        return sign * (e == 0 ? (m / 4f) * 0x1p-14f : (1 + m / 4f) * (float) Math.pow(2, e - 15));
    }
}
