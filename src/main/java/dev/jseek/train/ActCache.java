package dev.jseek.train;

import dev.jseek.fp8.E5m6;
import dev.jseek.fp8.Fp8Tensor;
import dev.jseek.fp8.ScaleFormat;
import dev.jseek.fp8.TileQuantizer;
import java.util.Arrays;

/**
 * The FP8 activation cache of a {@link Precision#FP8} model (report §3.3.3 "Low-Precision Storage"): the values
 * that backward reads of the cached Linear inputs, kept in low precision instead of float, in three arenas laid out
 * by {@link ActLayout}: {@link #codes} (E4M3, one byte per element), {@link #wide} (E5M6, 12 bits carried in a short,
 * for the o_proj input) and {@link #scales} (one float per 1x128 tile of either). A {@link CacheSlot} names one
 * cached [rows, cols] matrix; rows are quantized independently, so any row range of a slot can be written or read.
 *
 * <p>Quantization is that of {@link TileQuantizer#activation} (E4M3) and {@link E5m6#quantizeRows} (E5M6, power-of-two
 * scales), so an operand read back with {@link #e4m3} is bit-identical to quantizing the float activation again.
 */
public final class ActCache {
    public final byte[] codes;
    public final short[] wide;
    public final float[] scales;

    public ActCache(ActLayout al) {
        codes = new byte[(int) al.cacheCodes()];
        wide = new short[(int) al.cacheWide()];
        scales = new float[(int) al.cacheScales()];
    }

    /** Quantizes rows [r0, r0+m) of a [*, cols] float matrix (row 0 at x[xOff]) to E4M3 into rows r0.. of slot. */
    public void storeE4m3(CacheSlot slot, int r0, float[] x, int xOff, int m, ScaleFormat fmt) {
        TileQuantizer.quantizeRowsInto(x, xOff, m, slot.cols(), fmt, codes, slot.code(r0), scales, slot.scale(r0));
    }

    /** Rows [r0, r0+m) of an E4M3 slot as a 1x128-tiled tensor (a copy), ready as a GEMM operand. */
    public Fp8Tensor e4m3(CacheSlot slot, int r0, int m) {
        int cols = slot.cols(), tiles = slot.tilesPerRow();
        byte[] c = Arrays.copyOfRange(codes, slot.code(r0), slot.code(r0) + m * cols);
        float[] s = Arrays.copyOfRange(scales, slot.scale(r0), slot.scale(r0) + m * tiles);
        return new Fp8Tensor(m, cols, 1, TileQuantizer.TILE, c, s);
    }

    /** Dequantizes rows [r0, r0+m) of an E4M3 slot into out (row-major, stride cols, from outOff). */
    public void loadE4m3(CacheSlot slot, int r0, int m, float[] out, int outOff) {
        TileQuantizer.dequantizeRowsInto(codes, slot.code(r0), scales, slot.scale(r0), m, slot.cols(), out, outOff);
    }

    /** Quantizes rows [r0, r0+m) to E5M6 with power-of-two scales ({@link E5m6#quantizeRows}). */
    public void storeE5m6(CacheSlot slot, int r0, float[] x, int xOff, int m) {
        E5m6.quantizeRows(x, xOff, m, slot.cols(), wide, slot.code(r0), scales, slot.scale(r0));
    }

    /** Dequantizes rows [r0, r0+m) of an E5M6 slot into out. */
    public void loadE5m6(CacheSlot slot, int r0, int m, float[] out, int outOff) {
        E5m6.dequantizeRows(wide, slot.code(r0), scales, slot.scale(r0), m, slot.cols(), out, outOff);
    }

    /** Bytes held: codes + 2 per E5M6 code + 4 per scale. */
    public long bytes() { return codes.length + 2L * wide.length + 4L * scales.length; }
}
