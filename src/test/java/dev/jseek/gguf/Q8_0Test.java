package dev.jseek.gguf;

import dev.jseek.tensor.Q8_0;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The Q8_0 codec against a numpy implementation of ggml's reference quantizer (tools/make_gguf_fixtures.py:
 * half-away-from-zero ties, fp16 scale), the vector dequantizer against its scalar twin, and the round-trip error
 * bound.
 */
class Q8_0Test {
    static Path res(String name) throws Exception { return Path.of(Q8_0Test.class.getResource("/gguf/" + name).toURI()); }

    static float[] f32File(Path p) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(p)).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[b.remaining() / 4];
        b.asFloatBuffer().get(out);
        return out;
    }

    @Test
    void quantizerEqualsNumpyReferenceByteForByte() throws Exception {
        float[] x = f32File(res("q8_0_input.f32"));
        byte[] want = Files.readAllBytes(res("q8_0_blocks.bin"));
        assertEquals(x.length / 32 * 34, want.length);
        byte[] got = new byte[want.length];
        for (int b = 0; b < x.length / 32; b++) Q8_0.quantizeBlock(x, b * 32, got, b * 34);
        for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], "byte " + i + " (block " + i / 34 + ")");
        // the ties block (block 5: d = 1, x = k + 0.5) rounds away from zero, where np.round would go to even
        assertArrayEquals(new byte[] {127, 1, -1, 2, -2, 3, -3, 127, -127}, java.util.Arrays.copyOfRange(got, 5 * 34 + 2, 5 * 34 + 11));
    }

    @Test
    void dequantizerEqualsNumpyAndScalarTwin() throws Exception {
        byte[] blocks = Files.readAllBytes(res("q8_0_blocks.bin"));
        float[] want = f32File(res("q8_0_decoded.f32"));
        try (Arena a = Arena.ofConfined()) {
            MemorySegment seg = a.allocate(blocks.length + 7);
            MemorySegment.copy(blocks, 0, seg, ValueLayout.JAVA_BYTE, 7, blocks.length); // unaligned start
            int n = blocks.length / 34;
            float[] vec = new float[n * 32 + 5], sca = new float[n * 32 + 5];
            GgmlCodec.decode(GgmlType.Q8_0, seg.asSlice(7), 0, n * 32, vec, 5);
            for (int b = 0; b < n; b++) Q8_0.dequantizeBlock(seg, 7 + 34L * b, sca, 5 + 32 * b);
            for (int i = 0; i < n * 32; i++) {
                assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(vec[i + 5]), "vector " + i);
                assertEquals(Float.floatToRawIntBits(sca[i + 5]), Float.floatToRawIntBits(vec[i + 5]), "scalar twin " + i);
            }
        }
    }

    @Test
    void vectorEqualsScalarOnRandomBlocksAndRaggedCounts() {
        SplittableRandom r = new SplittableRandom(3);
        try (Arena a = Arena.ofConfined()) {
            for (int n : new int[] {0, 1, 2, 3, 7, 33}) {
                MemorySegment seg = a.allocate((long) n * 34 + 3);
                for (long i = 0; i < seg.byteSize(); i++) seg.set(ValueLayout.JAVA_BYTE, i, (byte) r.nextInt(256));
                for (int b = 0; b < n; b++) // finite scales (random fp16 bits can be inf/NaN: those are compared too, as bits)
                    seg.set(GgufFile.LE_I16, 1 + (long) b * 34, (short) (r.nextInt(0x7C00) | (r.nextBoolean() ? 0x8000 : 0)));
                float[] v = new float[n * 32], s = new float[n * 32];
                GgmlCodec.decode(GgmlType.Q8_0, seg.asSlice(1), 0, n * 32, v, 0);
                for (int b = 0; b < n; b++) Q8_0.dequantizeBlock(seg, 1 + 34L * b, s, 32 * b);
                for (int i = 0; i < v.length; i++) assertEquals(Float.floatToRawIntBits(s[i]), Float.floatToRawIntBits(v[i]), n + " blocks, " + i);
            }
        }
    }

    @Test
    void roundTripErrorIsAtMostHalfAStepPlusScaleRounding() {
        SplittableRandom r = new SplittableRandom(5);
        int blocks = 2000;
        float[] x = new float[blocks * 32];
        for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextGaussian() * Math.exp(r.nextDouble(-8, 8)));
        byte[] q = new byte[blocks * 34];
        for (int b = 0; b < blocks; b++) Q8_0.quantizeBlock(x, b * 32, q, b * 34);
        float[] y = new float[x.length];
        GgmlCodec.decode(GgmlType.Q8_0, MemorySegment.ofArray(q), 0, blocks * 32, y, 0);
        double worst = 0;
        for (int b = 0; b < blocks; b++) {
            float amax = 0;
            for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j]));
            double d = amax / 127.0;
            // |x - q d16| <= |x - q d| + |q| |d - d16| <= d/2 + 127 d 2^-11 (binary16 relative rounding), plus float slack
            double bound = d * (0.5 + 127.0 / 2048) * (1 + 1e-5) + 1e-30;
            for (int j = 0; j < 32; j++) {
                double e = Math.abs((double) x[b * 32 + j] - y[b * 32 + j]);
                assertTrue(e <= bound, "block " + b + " elem " + j + ": error " + e + " > " + bound);
                worst = Math.max(worst, e / d);
            }
        }
        assertTrue(worst > 0.45, "the bound is tight-ish (worst error " + worst + " steps)");
    }

    @Test
    void zeroBlockAndNonFiniteInput() throws IOException {
        float[] z = new float[32];
        byte[] q = new byte[34];
        Q8_0.quantizeBlock(z, 0, q, 0);
        assertArrayEquals(new byte[34], q);
        float[] bad = new float[32];
        bad[3] = Float.NaN;
        var e = assertThrows(IllegalArgumentException.class, () -> GgmlCodec.encode(GgmlType.Q8_0, bad, 0, 32, null));
        assertEquals("value 3 is NaN, Q8_0 needs finite values", e.getMessage());
    }
}
