package dev.jseek.tensor;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reads the block-quantization fixtures of tools/make_quant_fixtures.py (src/test/resources/quant). */
public final class QuantFixtures {
    private QuantFixtures() {}

    public static final DType[] TYPES = {DType.Q8_0, DType.Q4_K, DType.Q5_K, DType.Q6_K};

    public static Path res(String name) {
        try {
            return Path.of(QuantFixtures.class.getResource("/quant/" + name).toURI());
        } catch (Exception e) {
            throw new IllegalStateException("missing fixture /quant/" + name, e);
        }
    }

    public static String prefix(DType t) { return t.name().toLowerCase(); }

    public static byte[] bytes(DType t, String kind) throws IOException { return Files.readAllBytes(res(prefix(t) + "_" + kind + ".bin")); }

    /** The shared input rows (input.f32). */
    public static float[] input() throws IOException { return f32(res("input.f32")); }

    public static float[] floats(DType t, String kind) throws IOException { return f32(res(prefix(t) + "_" + kind + ".f32")); }

    static float[] f32(Path p) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(p)).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[b.remaining() / 4];
        b.asFloatBuffer().get(out);
        return out;
    }

    /** Quantizes whole blocks of x with the reference quantizer of t. */
    public static byte[] quantize(DType t, float[] x) {
        int n = x.length / t.blockSize;
        byte[] out = new byte[n * t.blockBytes];
        for (int b = 0; b < n; b++) QuantBlocks.quantizeBlock(t, x, b * t.blockSize, out, b * t.blockBytes);
        return out;
    }

    /** Dequantizes all blocks of bytes with the scalar reference decoder of t. */
    public static float[] dequantize(DType t, byte[] bytes) {
        int n = bytes.length / t.blockBytes;
        float[] out = new float[n * t.blockSize];
        MemorySegment s = MemorySegment.ofArray(bytes);
        for (int b = 0; b < n; b++) QuantBlocks.dequantizeBlock(t, s, (long) b * t.blockBytes, out, b * t.blockSize);
        return out;
    }
}
