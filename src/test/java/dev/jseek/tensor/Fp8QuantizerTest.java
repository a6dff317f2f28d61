package dev.jseek.tensor;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.io.Checkpoint;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The Java E4M3 encoder and block quantizer against the python oracle in src/test/resources/fp8/quant.safetensors
 * (written by tools/make_parity_fixtures.py: brute-force nearest-value encoding with ties to the even code).
 */
class Fp8QuantizerTest {
    static final Path ORACLE = Path.of("src/test/resources/fp8");

    @Test
    void decodeMatchesTheFormatDefinition() {
        assertEquals(448f, Fp8.e4m3ToFloat((byte) 0x7E));
        assertEquals(-448f, Fp8.e4m3ToFloat((byte) 0xFE));
        assertTrue(Float.isNaN(Fp8.e4m3ToFloat((byte) 0x7F)));
        assertTrue(Float.isNaN(Fp8.e4m3ToFloat((byte) 0xFF)));
        assertEquals(0x1p-9f, Fp8.e4m3ToFloat((byte) 0x01)); // smallest subnormal
        assertEquals(0x1p-6f, Fp8.e4m3ToFloat((byte) 0x08)); // smallest normal
        assertEquals(1f, Fp8.e4m3ToFloat((byte) 0x38));
        assertEquals(-0f, Fp8.e4m3ToFloat((byte) 0x80));
        // every finite code round-trips through encode
        for (int c = 0; c < 256; c++) {
            float v = Fp8.e4m3ToFloat((byte) c);
            if (!Float.isNaN(v)) assertEquals((byte) c, Fp8.floatToE4m3(v), "code " + c);
        }
    }

    @Test
    void encoderMatchesThePythonOracleOnTiesSubnormalsSaturationAndRandomValues() {
        try (Checkpoint ck = Checkpoint.open(ORACLE.resolve("quant.safetensors"))) {
            float[] x = ck.floats("special_x");
            byte[] want = ck.segment("special_codes").toArray(ValueLayout.JAVA_BYTE);
            assertEquals(x.length, want.length);
            assertTrue(x.length > 4500);
            for (int i = 0; i < x.length; i++)
                assertEquals(want[i], Fp8.floatToE4m3(x[i]), "x[" + i + "] = " + x[i] + " (" + Float.toHexString(x[i]) + ")");
        }
    }

    @Test
    void blockQuantizationMatchesThePythonOracleBitForBit() {
        try (Checkpoint ck = Checkpoint.open(ORACLE.resolve("quant.safetensors"))) {
            long[] shape = ck.info("x").shape();
            int rows = (int) shape[0], cols = (int) shape[1];
            assertTrue(rows % 128 != 0 && cols % 128 != 0, "oracle must have partial edge blocks");
            float[] x = ck.floats("x", rows, cols);
            byte[] codes = ck.segment("codes").toArray(ValueLayout.JAVA_BYTE);
            float[] scales = ck.floats("scale_inv", Matrix.scaleRows(rows), Matrix.scaleCols(cols));
            Fp8Quantizer.Quantized q = Fp8Quantizer.quantize(x, rows, cols);
            assertArrayEquals(scales, q.scaleInv(), "scales");
            assertEquals(1e-4f / 448f, q.scaleInv()[1], "all-zero block clamps amax to 1e-4");
            assertArrayEquals(codes, q.codes(), "codes");
            float[] deq = Fp8Quantizer.dequantize(q);
            for (int i = 0; i < deq.length; i++) {
                int r = i / cols, c = i % cols;
                float s = scales[(r / 128) * Matrix.scaleCols(cols) + c / 128];
                assertEquals(x[i], deq[i], Math.abs(x[i]) / 16f + s * 0x1p-10f, "element " + r + "," + c);
            }
        }
    }

    @Test
    void rejectsNonFiniteWeights() {
        float[] w = {1, Float.NaN, 2, 3};
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Fp8Quantizer.quantize(w, 2, 2));
        assertTrue(e.getMessage().contains("[0, 1]"), e.getMessage());
    }
}
