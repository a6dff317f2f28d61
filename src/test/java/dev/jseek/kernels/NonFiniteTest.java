package dev.jseek.kernels;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.kernels.scalar.ScalarNonFinite;
import dev.jseek.tensor.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link NonFinite} against its scalar twin, which decodes each value by the format's definition: every bit pattern
 * of the 16- and 8-bit formats (all 65,536 / 256) placed at every lane position of a vector and in the tail, and
 * random F32/F64 buffers of ragged lengths with NaN, +-Inf or nothing planted.
 */
class NonFiniteTest {
    static final DType[] FLOATS = {DType.F64, DType.F32, DType.BF16, DType.F16, DType.F8_E4M3, DType.F8_E5M2};

    @Test void everyPatternOfTheSmallFormatsAtEveryPosition() {
        try (Arena a = Arena.ofConfined()) {
            int n = 3 * 64 + 5; // whole vectors and a tail, for any vector width
            for (DType t : new DType[] {DType.BF16, DType.F16, DType.F8_E4M3, DType.F8_E5M2}) {
                MemorySegment s = a.allocate((long) n * t.bytes);
                int patterns = t.bytes == 2 ? 65536 : 256;
                int nonFinite = 0;
                for (int p = 0; p < patterns; p++) {
                    int pos = (p * 7) % n;
                    s.fill((byte) 0);
                    if (t.bytes == 2) s.set(ValueLayout.JAVA_SHORT_UNALIGNED, pos * 2L, (short) p);
                    else s.set(ValueLayout.JAVA_BYTE, pos, (byte) p);
                    long want = ScalarNonFinite.first(s, t);
                    assertEquals(want, NonFinite.first(s, t), t + " pattern " + Integer.toHexString(p) + " at " + pos);
                    if (want >= 0) nonFinite++;
                }
                // the format's count of NaN and Inf codes
                int expect = switch (t) {
                    case BF16 -> 2 * 128; // exponent 0xFF: 2 signs x 128 mantissas
                    case F16 -> 2 * 1024;
                    case F8_E5M2 -> 2 * 4;
                    default -> 2; // E4M3: 0x7F and 0xFF
                };
                assertEquals(expect, nonFinite, t.toString());
            }
        }
    }

    @Test void randomBuffersWithPlantedValues() {
        Random r = new Random(5);
        try (Arena a = Arena.ofConfined()) {
            for (int trial = 0; trial < 300; trial++) {
                DType t = FLOATS[trial % FLOATS.length];
                int n = 1 + r.nextInt(700);
                MemorySegment s = a.allocate((long) n * t.bytes);
                for (int i = 0; i < n; i++) {
                    switch (t) {
                        case F64 -> s.set(ValueLayout.JAVA_DOUBLE_UNALIGNED, i * 8L, r.nextGaussian() * 1e298);
                        case F32 -> s.set(ValueLayout.JAVA_FLOAT_UNALIGNED, i * 4L, (float) (r.nextGaussian() * 1e36));
                        case BF16, F16 -> s.set(ValueLayout.JAVA_SHORT_UNALIGNED, i * 2L, (short) (r.nextInt(0x7000) | (r.nextBoolean() ? 0x8000 : 0)));
                        default -> s.set(ValueLayout.JAVA_BYTE, i, (byte) (r.nextInt(0x70) | (r.nextBoolean() ? 0x80 : 0)));
                    }
                }
                int kind = trial % 4, at = r.nextInt(n);
                if (kind > 0) {
                    double v = kind == 1 ? Double.NaN : kind == 2 ? Double.POSITIVE_INFINITY : Double.NEGATIVE_INFINITY;
                    switch (t) {
                        case F64 -> s.set(ValueLayout.JAVA_DOUBLE_UNALIGNED, at * 8L, v);
                        case F32 -> s.set(ValueLayout.JAVA_FLOAT_UNALIGNED, at * 4L, (float) v);
                        case BF16 -> s.set(ValueLayout.JAVA_SHORT_UNALIGNED, at * 2L, (short) (Float.floatToRawIntBits((float) v) >>> 16));
                        case F16, F8_E5M2, F8_E4M3 -> {
                            short h = Float.floatToFloat16((float) v);
                            if (t == DType.F16) s.set(ValueLayout.JAVA_SHORT_UNALIGNED, at * 2L, h);
                            else s.set(ValueLayout.JAVA_BYTE, at, (byte) (t == DType.F8_E5M2 ? h >> 8 : 0x7F | (h & 0x8000) >> 8));
                        }
                        default -> { }
                    }
                }
                long want = ScalarNonFinite.first(s, t);
                assertEquals(kind == 0 ? -1 : at, want, t + " trial " + trial);
                assertEquals(want, NonFinite.first(s, t), t + " trial " + trial + " n " + n);
            }
        }
    }

    /**
     * ggml's block types (GGUF weights): random blocks (random quants, finite random F16 scale fields), then the infinities, NaNs of several
     * payloads and a sample of finite F16 patterns written into each scale field (Q8_0 d; Q4_K and Q5_K d and dmin; Q6_K d) of a
     * random block. The twin decodes every block with the reference codec and asks each element; the bytes a
     * field does not cover (quants, sub-block scales) never make a value non-finite.
     */
    @Test void blockTypesAreNonFiniteExactlyWhenAScaleFieldIs() {
        Random r = new Random(11);
        int[][] fields = {{0}, {0, 2}, {0, 2}, {208}};
        DType[] types = {DType.Q8_0, DType.Q4_K, DType.Q5_K, DType.Q6_K};
        try (Arena a = Arena.ofConfined()) {
            for (int k = 0; k < types.length; k++) {
                DType t = types[k];
                int blocks = 3;
                MemorySegment s = a.allocate((long) blocks * t.blockBytes);
                for (long i = 0; i < s.byteSize(); i++) s.set(ValueLayout.JAVA_BYTE, i, (byte) r.nextInt(256));
                int nonFinite = 0, specials = 0, tried = 0;
                for (int field : fields[k]) {
                    for (int p = 0; p < 65536; p++) {
                        boolean special = (p & 0x7C00) == 0x7C00;
                        int mant = p & 0x3FF;
                        if (special ? !(mant == 0 || mant == 1 || mant == 0x200 || mant == 0x3FF || mant % 37 == 5) : p % 509 != 0) continue;
                        if (special) specials++;
                        for (int b = 0; b < blocks; b++)
                            for (int f : fields[k]) s.set(ValueLayout.JAVA_SHORT_UNALIGNED, (long) b * t.blockBytes + f, (short) (r.nextInt(0x7800) | (r.nextBoolean() ? 0x8000 : 0)));
                        int at = r.nextInt(blocks);
                        s.set(ValueLayout.JAVA_SHORT_UNALIGNED, (long) at * t.blockBytes + field, (short) p);
                        long want = ScalarNonFinite.first(s, t);
                        assertEquals(special ? (long) at * t.blockSize : -1, want, t + " field " + field + " pattern " + Integer.toHexString(p));
                        assertEquals(want, NonFinite.first(s, t), t + " field " + field + " pattern " + Integer.toHexString(p));
                        tried++;
                        if (want >= 0) nonFinite++;
                    }
                }
                assertEquals(specials, nonFinite, t.toString());
                assertTrue(tried > nonFinite, t.toString());
            }
        }
    }
}
