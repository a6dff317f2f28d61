package dev.jseek.kernels;

import dev.jseek.tensor.DType;
import dev.jseek.tensor.Fp8;
import dev.jseek.tensor.Matrix;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Decodes rows (or row segments) of a weight of any dtype into floats with FP8 128x128 block scales applied
 * (docs/architecture.md §2.3: {@code W_real[i][j] = fp8(W[i][j]) * scaleInv[i/128][j/128]}). Used by embedding lookup, by the
 * GEMM packing of weights and by the small-m linear path. Vector API decode (see {@link Vec}; ggml block types in
 * {@link QuantRows}); the scalar twin is
 * {@link dev.jseek.kernels.scalar.ScalarWeightRows}.
 */
public final class WeightRows {
    private WeightRows() {}

    /** Writes row r of w (w.cols floats, block scales applied) into dst[dstOff ..]. */
    public static void decodeRow(Matrix w, int r, float[] dst, int dstOff) {
        decode(w, r, 0, w.cols(), dst, dstOff);
    }

    /**
     * Writes elements [c0, c0 + len) of row r of w (block scales applied) into dst[dstOff .. dstOff + len).
     */
    public static void decode(Matrix w, int r, int c0, int len, float[] dst, int dstOff) {
        if (r < 0 || r >= w.rows() || c0 < 0 || len < 0 || c0 + len > w.cols())
            throw new IndexOutOfBoundsException("row " + r + " cols [" + c0 + ", " + (c0 + len) + ") of a " + w.rows() + "x" + w.cols() + " weight");
        if (dstOff < 0 || dstOff + len > dst.length)
            throw new IndexOutOfBoundsException("dst [" + dstOff + ", " + (dstOff + len) + ") of " + dst.length);
        MemorySegment seg = w.data();
        if (w.dtype().isBlock()) {
            QuantRows.decode(w.dtype(), seg, w.rowBytes(), r, c0, len, dst, dstOff);
            return;
        }
        long base = (long) r * w.cols();
        Object heap = seg.heapBase().orElse(null);
        switch (w.dtype()) {
            case F32 -> {
                if (heap instanceof float[] fa && seg.address() % 4 == 0)
                    decodeF32(fa, (int) (seg.address() / 4 + base + c0), len, dst, dstOff);
                else decodeF32(seg, base + c0, len, dst, dstOff);
            }
            case BF16, F16 -> {
                boolean bf = w.dtype() == DType.BF16;
                if (heap instanceof short[] sa && seg.address() % 2 == 0) {
                    int o = (int) (seg.address() / 2 + base + c0);
                    if (bf) decodeBf16(sa, o, len, dst, dstOff); else decodeF16(sa, o, len, dst, dstOff);
                } else if (bf) decodeBf16(seg, base + c0, len, dst, dstOff);
                else decodeF16(seg, base + c0, len, dst, dstOff);
            }
            case F8_E4M3, F8_E5M2 -> {
                boolean e4 = w.dtype() == DType.F8_E4M3;
                byte[] ba = heap instanceof byte[] x ? x : null;
                long o = ba != null ? seg.address() + base : base;
                MemorySegment sc = w.scaleInv();
                long scRow = (long) (r / Matrix.BLOCK) * Matrix.scaleCols(w.cols());
                int c = c0, end = c0 + len;
                while (c < end) {
                    int segEnd = Math.min(end, (c / Matrix.BLOCK + 1) * Matrix.BLOCK);
                    float s = sc == null ? 1f : sc.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, scRow + c / Matrix.BLOCK);
                    int d = dstOff + (c - c0);
                    if (ba != null) {
                        if (e4) decodeE4m3(ba, (int) (o + c), segEnd - c, s, dst, d);
                        else decodeE5m2(ba, (int) (o + c), segEnd - c, s, dst, d);
                    } else if (e4) decodeE4m3(seg, o + c, segEnd - c, s, dst, d);
                    else decodeE5m2(seg, o + c, segEnd - c, s, dst, d);
                    c = segEnd;
                }
            }
            default -> throw new IllegalArgumentException("unsupported weight dtype " + w.dtype());
        }
    }

    private static void decodeF32(MemorySegment seg, long idx, int len, float[] dst, int off) {
        int L = Vec.LANES, i = 0;
        for (; i + L <= len; i += L) Vec.loadF32(seg, idx + i).intoArray(dst, off + i);
        for (; i < len; i++) dst[off + i] = seg.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, idx + i);
    }

    private static void decodeF32(float[] a, int idx, int len, float[] dst, int off) {
        System.arraycopy(a, idx, dst, off, len);
    }

    private static void decodeBf16(MemorySegment seg, long idx, int len, float[] dst, int off) {
        int L = Vec.LANES, i = 0;
        for (; i + L <= len; i += L) Vec.loadBf16(seg, idx + i).intoArray(dst, off + i);
        for (; i < len; i++) dst[off + i] = Float.intBitsToFloat((seg.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, idx + i) & 0xFFFF) << 16);
    }

    private static void decodeBf16(short[] a, int idx, int len, float[] dst, int off) {
        int L = Vec.LANES, i = 0;
        for (; i + L <= len; i += L) Vec.loadBf16(a, idx + i).intoArray(dst, off + i);
        for (; i < len; i++) dst[off + i] = Float.intBitsToFloat((a[idx + i] & 0xFFFF) << 16);
    }

    private static void decodeF16(MemorySegment seg, long idx, int len, float[] dst, int off) {
        int L = Vec.LANES, i = 0;
        for (; i + L <= len; i += L) Vec.loadF16(seg, idx + i).intoArray(dst, off + i);
        for (; i < len; i++) dst[off + i] = Float.float16ToFloat(seg.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, idx + i));
    }

    private static void decodeF16(short[] a, int idx, int len, float[] dst, int off) {
        int L = Vec.LANES, i = 0;
        for (; i + L <= len; i += L) Vec.loadF16(a, idx + i).intoArray(dst, off + i);
        for (; i < len; i++) dst[off + i] = Float.float16ToFloat(a[idx + i]);
    }

    private static void decodeE4m3(MemorySegment seg, long idx, int len, float s, float[] dst, int off) {
        int L = Vec.LANES, i = 0;
        for (; i + L <= len; i += L) Vec.loadE4m3(seg, idx + i).mul(s).intoArray(dst, off + i);
        for (; i < len; i++) dst[off + i] = Fp8.e4m3ToFloat(seg.get(ValueLayout.JAVA_BYTE, idx + i)) * s;
    }

    private static void decodeE4m3(byte[] a, int idx, int len, float s, float[] dst, int off) {
        int L = Vec.LANES, i = 0;
        for (; i + L <= len; i += L) Vec.loadE4m3(a, idx + i).mul(s).intoArray(dst, off + i);
        for (; i < len; i++) dst[off + i] = Fp8.e4m3ToFloat(a[idx + i]) * s;
    }

    private static void decodeE5m2(MemorySegment seg, long idx, int len, float s, float[] dst, int off) {
        int L = Vec.LANES, i = 0;
        for (; i + L <= len; i += L) Vec.loadE5m2(seg, idx + i).mul(s).intoArray(dst, off + i);
        for (; i < len; i++) dst[off + i] = Fp8.e5m2ToFloat(seg.get(ValueLayout.JAVA_BYTE, idx + i)) * s;
    }

    private static void decodeE5m2(byte[] a, int idx, int len, float s, float[] dst, int off) {
        int L = Vec.LANES, i = 0;
        for (; i + L <= len; i += L) Vec.loadE5m2(a, idx + i).mul(s).intoArray(dst, off + i);
        for (; i < len; i++) dst[off + i] = Fp8.e5m2ToFloat(a[idx + i]) * s;
    }
}
