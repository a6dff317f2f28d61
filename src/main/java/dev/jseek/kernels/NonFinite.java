package dev.jseek.kernels;

import dev.jseek.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Finds the first NaN or infinity in a tensor's bytes, in one pass: a value is non-finite when all its exponent bits
 * are set (F64, F32, BF16, F16, FP8 E5M2), or, for FP8 E4M3 (which has no infinities), when it is the NaN pattern
 * S.1111.111. Integer dtypes have none. Eight bytes at a time (SWAR: the lanes of a long, the "has a zero lane"
 * test on {@code (x & E) ^ E}); it runs once per load, so it is written to be fast from a cold JIT too, where Vector
 * API code is slow until C2 compiles it (the small preset's 65 MB, first scan in a fresh JVM, load average 22: 4.9 s
 * with an IntVector loop, 0.34 s like this; warm, both about 6 ms).
 *
 * <p>ggml's block types (GGUF weights) hold their non-finite values in the F16 scale fields only: a block decodes to
 * d * (small integers) [- dmin * (small integers)], finite whenever d and dmin are, and non-finite in every element
 * when one of them is NaN or infinite (x * inf is inf or, for x = 0, NaN). So for {@link DType#Q8_0} (d at byte 0),
 * {@link DType#Q4_K} / {@link DType#Q5_K} (d, dmin at bytes 0 and 2) and {@link DType#Q6_K} (d at byte 208) the scan
 * checks those fields of every block and answers the first element of the first bad block.
 * Scalar twin: {@code kernels.scalar.ScalarNonFinite}, which decodes every block.
 */
public final class NonFinite {
    private NonFinite() {}

    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);

    /** The index of the first non-finite element of {@code seg} read as {@code t}, or -1 when all are finite. */
    public static long first(MemorySegment seg, DType t) {
        return switch (t) {
            case F64 -> scan(seg, 8, 0x7FF0000000000000L, 0x0000000000000001L, 0x8000000000000000L);
            case F32 -> scan(seg, 4, 0x7F8000007F800000L, 0x0000000100000001L, 0x8000000080000000L);
            case BF16 -> scan(seg, 2, 0x7F807F807F807F80L, 0x0001000100010001L, 0x8000800080008000L);
            case F16 -> scan(seg, 2, 0x7C007C007C007C00L, 0x0001000100010001L, 0x8000800080008000L);
            case F8_E4M3 -> scan(seg, 1, 0x7F7F7F7F7F7F7F7FL, 0x0101010101010101L, 0x8080808080808080L);
            case F8_E5M2 -> scan(seg, 1, 0x7C7C7C7C7C7C7C7CL, 0x0101010101010101L, 0x8080808080808080L);
            case Q8_0 -> blockScales(seg, t, 0, 0);
            case Q4_K, Q5_K -> blockScales(seg, t, 0, 2);
            case Q6_K -> blockScales(seg, t, 208, 208);
            default -> -1;
        };
    }

    /**
     * Lanes of {@code width} bytes; {@code e} the exponent mask in every lane, {@code ones} 1 in every lane,
     * {@code highs} every lane's top bit. A lane is non-finite when {@code (lane & e) == e}, i.e. when
     * {@code z = (x & e) ^ e} has a zero lane; {@code (z - ones) & ~z & highs} is non-zero exactly when it has one
     * (z's lanes have their top bit clear, so no lane borrows into a set top bit unless a lower lane was zero).
     */
    private static long scan(MemorySegment s, int width, long e, long ones, long highs) {
        long bytes = s.byteSize() - s.byteSize() % width, whole = bytes & ~7L;
        for (long off = 0; off < whole; off += 8) {
            long z = (s.get(LONG, off) & e) ^ e;
            if (((z - ones) & ~z & highs) != 0) return lane(s, off, width, e);
        }
        return tail(s, whole, bytes, width, e);
    }

    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);

    /** The first element of the first block whose F16 field at byte {@code a} or {@code b} of the block is NaN or infinite. */
    private static long blockScales(MemorySegment s, DType t, int a, int b) {
        long blocks = s.byteSize() / t.blockBytes;
        for (long i = 0, p = 0; i < blocks; i++, p += t.blockBytes) {
            if ((s.get(SHORT, p + a) & 0x7C00) == 0x7C00 || (s.get(SHORT, p + b) & 0x7C00) == 0x7C00)
                return i * t.blockSize;
        }
        return -1;
    }

    /** The first non-finite lane of the 8 bytes at {@code off} (one is known to be). */
    private static long lane(MemorySegment s, long off, int width, long e) {
        return tail(s, off, off + 8, width, e);
    }

    private static long tail(MemorySegment s, long from, long to, int width, long e) {
        long m = width == 8 ? e : e & ((1L << (8 * width)) - 1);
        for (long off = from; off < to; off += width) {
            long v = 0;
            for (int b = width - 1; b >= 0; b--) v = v << 8 | (s.get(ValueLayout.JAVA_BYTE, off + b) & 0xFF);
            if ((v & m) == m) return off / width;
        }
        return -1;
    }
}
