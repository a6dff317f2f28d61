package dev.jseek.tensor;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The scalar block codecs against the references of tools/make_quant_fixtures.py: quantization byte-equal to
 * ggml's own {@code quantize_row_*_ref} (libggml-base.so of node-llama-cpp 3.21.1, through ctypes; for Q8_0 also
 * equal to gguf.quants), dequantization bit-equal to PyPI gguf's {@code gguf.quants.dequantize}, on edge-case rows
 * and on random block bytes.
 */
class QuantBlocksTest {
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q8_0", "Q4_K", "Q5_K", "Q6_K"})
    void quantizationIsByteEqualToGgml(DType t) throws Exception {
        float[] x = QuantFixtures.input();
        byte[] want = QuantFixtures.bytes(t, "blocks");
        byte[] got = QuantFixtures.quantize(t, x);
        assertEquals(want.length, got.length);
        for (int i = 0; i < want.length; i++)
            assertEquals(want[i], got[i], t + " byte " + i % t.blockBytes + " of block " + i / t.blockBytes + " (input row " + i / t.blockBytes * t.blockSize / 256 + ")");
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q8_0", "Q4_K", "Q5_K", "Q6_K"})
    void dequantizationIsBitEqualToGgufPy(DType t) throws Exception {
        for (String kind : new String[] {"blocks", "random"}) {
            float[] want = QuantFixtures.floats(t, kind.equals("blocks") ? "decoded" : "random");
            float[] got = QuantFixtures.dequantize(t, QuantFixtures.bytes(t, kind));
            assertEquals(want.length, got.length);
            for (int i = 0; i < want.length; i++)
                assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(got[i]), t + " " + kind + " element " + i + ": " + want[i] + " vs " + got[i]);
        }
    }
}
