package dev.jseek.fp8;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Transpose of a block of bytes (FP8 codes; report §3.3's Wgrad operands and the Dgrad weight are transposed tensors),
 * 8 x 8 bytes at a time: eight rows of eight bytes are read as little-endian longs, transposed inside the eight longs by
 * three rounds of masked swaps (bytes between neighbouring rows, then byte pairs between rows two apart, then 4-byte
 * halves between rows four apart) and written as eight longs. Edges that do not fill an 8 x 8 block move byte by byte.
 */
final class ByteTranspose {
    private ByteTranspose() {}

    private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final long M1 = 0x00FF00FF00FF00FFL, M2 = 0x0000FFFF0000FFFFL, M4 = 0x00000000FFFFFFFFL;

    /**
     * dst[dOff + j*dStride + i] = src[sOff + i*sStride + j] for i in [0, nr), j in [0, nc). Callers keep the block
     * small enough to stay in cache (e.g. 64 x 64 or 128 x 128).
     */
    static void block(byte[] src, int sOff, int sStride, byte[] dst, int dOff, int dStride, int nr, int nc) {
        int i = 0;
        for (; i + 8 <= nr; i += 8) {
            int j = 0;
            for (; j + 8 <= nc; j += 8) eight(src, sOff + i * sStride + j, sStride, dst, dOff + j * dStride + i, dStride);
            for (; j < nc; j++)
                for (int k = 0; k < 8; k++) dst[dOff + j * dStride + i + k] = src[sOff + (i + k) * sStride + j];
        }
        for (; i < nr; i++)
            for (int j = 0, s = sOff + i * sStride; j < nc; j++) dst[dOff + j * dStride + i] = src[s + j];
    }

    /** One 8 x 8 block: rows of src at s, s + ss, ...; its columns become rows of dst at d, d + ds, .... */
    private static void eight(byte[] src, int s, int ss, byte[] dst, int d, int ds) {
        long a0 = (long) LONG.get(src, s), a1 = (long) LONG.get(src, s + ss), a2 = (long) LONG.get(src, s + 2 * ss),
                a3 = (long) LONG.get(src, s + 3 * ss), a4 = (long) LONG.get(src, s + 4 * ss), a5 = (long) LONG.get(src, s + 5 * ss),
                a6 = (long) LONG.get(src, s + 6 * ss), a7 = (long) LONG.get(src, s + 7 * ss);
        long t;
        // byte k of row r is element (r, k); swap so that byte k of long r ends up as element (k, r)
        t = ((a0 >>> 8) ^ a1) & M1; a1 ^= t; a0 ^= t << 8;
        t = ((a2 >>> 8) ^ a3) & M1; a3 ^= t; a2 ^= t << 8;
        t = ((a4 >>> 8) ^ a5) & M1; a5 ^= t; a4 ^= t << 8;
        t = ((a6 >>> 8) ^ a7) & M1; a7 ^= t; a6 ^= t << 8;
        t = ((a0 >>> 16) ^ a2) & M2; a2 ^= t; a0 ^= t << 16;
        t = ((a1 >>> 16) ^ a3) & M2; a3 ^= t; a1 ^= t << 16;
        t = ((a4 >>> 16) ^ a6) & M2; a6 ^= t; a4 ^= t << 16;
        t = ((a5 >>> 16) ^ a7) & M2; a7 ^= t; a5 ^= t << 16;
        t = ((a0 >>> 32) ^ a4) & M4; a4 ^= t; a0 ^= t << 32;
        t = ((a1 >>> 32) ^ a5) & M4; a5 ^= t; a1 ^= t << 32;
        t = ((a2 >>> 32) ^ a6) & M4; a6 ^= t; a2 ^= t << 32;
        t = ((a3 >>> 32) ^ a7) & M4; a7 ^= t; a3 ^= t << 32;
        LONG.set(dst, d, a0);
        LONG.set(dst, d + ds, a1);
        LONG.set(dst, d + 2 * ds, a2);
        LONG.set(dst, d + 3 * ds, a3);
        LONG.set(dst, d + 4 * ds, a4);
        LONG.set(dst, d + 5 * ds, a5);
        LONG.set(dst, d + 6 * ds, a6);
        LONG.set(dst, d + 7 * ds, a7);
    }
}
