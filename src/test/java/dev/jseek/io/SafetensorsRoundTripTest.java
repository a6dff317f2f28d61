package dev.jseek.io;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.fp8.Fp8Weights;
import dev.jseek.kernels.scalar.ScalarWeightRows;
import dev.jseek.tensor.DType;
import dev.jseek.tensor.Matrix;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Writer -> reader round trips for every dtype, single file and sharded (oracle: the values written). */
class SafetensorsRoundTripTest {
    @TempDir Path tmp;

    static float[] randn(Random r, int n, float scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) r.nextGaussian() * scale;
        return a;
    }

    @Test
    void everyDtypeRoundTripsThroughASingleFile() throws Exception {
        Random r = new Random(1);
        float[] f32 = randn(r, 6 * 5, 1f);
        float[] bf = randn(r, 3 * 7, 3f);
        float[] f16 = randn(r, 4 * 4, 2f);
        float[] f64 = randn(r, 5, 1f);
        byte[] i8 = {1, -2, 3, 127, -128, 0};
        ByteBuffer i32 = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putInt(7).putInt(-1).putInt(Integer.MAX_VALUE);
        ByteBuffer i64 = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(Long.MIN_VALUE).putLong(42);
        byte[] u8 = {(byte) 255, 0, 17};
        byte[] e5m2 = {0x3C, (byte) 0xBC, 0x00, 0x7B}; // 1, -1, 0, 57344
        float[] e5m2Scale = {2f};
        Path f = tmp.resolve("all.safetensors");
        new SafetensorsWriter()
                .metadata("format", "pt").metadata("note", "round trip")
                .addFloats("a.f32", DType.F32, f32, 6, 5)
                .addFloats("b.bf16", DType.BF16, bf, 3, 7)
                .addFloats("c.f16", DType.F16, f16, 4, 4)
                .addFloats("d.f64", DType.F64, f64, 5)
                .add("e.i8", DType.I8, new long[] {2, 3}, i8)
                .add("f.i32", DType.I32, new long[] {3}, i32.array())
                .add("g.i64", DType.I64, new long[] {2}, i64.array())
                .add("h.u8", DType.U8, new long[] {3}, u8)
                .add("i.e5m2.weight", DType.F8_E5M2, new long[] {2, 2}, e5m2)
                .addFloats("i.e5m2.weight_scale_inv", DType.F32, e5m2Scale, 1, 1)
                .add("j.empty", DType.F32, new long[] {0, 4}, new byte[0])
                .add("k.scalar", DType.F32, new long[] {}, ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(2.5f).array())
                .write(f);
        byte[] raw = Files.readAllBytes(f);
        long n = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        assertEquals(0, (8 + n) % 8, "data must start 8-byte aligned");

        try (SafetensorsFile sf = SafetensorsFile.open(f); Checkpoint ck = Checkpoint.open(f)) {
            assertEquals("pt", sf.metadata().get("format"));
            assertEquals("round trip", sf.metadata().get("note"));
            assertEquals(List.of("a.f32", "b.bf16", "c.f16", "d.f64", "e.i8", "f.i32", "g.i64", "h.u8", "i.e5m2.weight",
                    "i.e5m2.weight_scale_inv", "j.empty", "k.scalar"), List.copyOf(ck.names()));
            assertArrayEquals(f32, ck.floats("a.f32", 6, 5));
            float[] bfBack = ck.floats("b.bf16", 3, 7);
            for (int i = 0; i < bf.length; i++) {
                assertEquals(bf[i], bfBack[i], Math.abs(bf[i]) * 0x1p-8f, "bf16 " + i);
                // bf16 = exactly the float with the low 16 bits cleared after rounding
                assertEquals(0, Float.floatToIntBits(bfBack[i]) & 0xFFFF);
            }
            float[] f16Back = ck.floats("c.f16");
            for (int i = 0; i < f16.length; i++) assertEquals(Float.float16ToFloat(Float.floatToFloat16(f16[i])), f16Back[i]);
            assertArrayEquals(f64, ck.floats("d.f64", 5));
            assertArrayEquals(i8, ck.segment("e.i8").toArray(ValueLayout.JAVA_BYTE));
            assertEquals(Integer.MAX_VALUE, ck.segment("f.i32").getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, 2));
            assertEquals(42L, ck.segment("g.i64").getAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, 1));
            assertArrayEquals(u8, ck.segment("h.u8").toArray(ValueLayout.JAVA_BYTE));
            assertArrayEquals(new float[] {2f, -2f, 0f, 114688f}, ck.floats("i.e5m2.weight", 2, 2));
            assertEquals(0, ck.floats("j.empty", 0, 4).length);
            assertArrayEquals(new float[] {2.5f}, ck.floats("k.scalar"));
            assertEquals(DType.I64, ck.info("g.i64").dtype());
            assertArrayEquals(new long[] {3, 7}, ck.info("b.bf16").shape());

            Matrix m = ck.matrix("a.f32", 6, 5);
            assertEquals(DType.F32, m.dtype());
            assertNull(m.scaleInv());
            for (int i = 0; i < 6; i++) for (int j = 0; j < 5; j++) assertEquals(f32[i * 5 + j], ScalarWeightRows.get(m, i, j));
            Matrix mb = ck.matrix("b.bf16", 3, 7);
            assertEquals(bfBack[2 * 7 + 3], ScalarWeightRows.get(mb, 2, 3));
            Matrix mh = ck.matrix("c.f16", 4, 4);
            assertEquals(f16Back[5], ScalarWeightRows.get(mh, 1, 1));
        }
    }

    @Test
    void fp8WeightsCarryTheirScalesAndDequantizeCloseToTheInput() {
        Random r = new Random(2);
        int rows = 200, cols = 130; // edge blocks in both dims
        float[] w = randn(r, rows * cols, 0.05f);
        for (int j = 0; j < cols; j++) w[150 * cols + j] *= 40; // one row block with a much larger amax
        Path f = tmp.resolve("fp8.safetensors");
        Fp8Weights.add(new SafetensorsWriter(), "l.weight", w, rows, cols).write(f);
        try (Checkpoint ck = Checkpoint.open(f)) {
            assertEquals(Set.of("l.weight", "l.weight_scale_inv"), ck.names());
            assertArrayEquals(new long[] {2, 2}, ck.info("l.weight_scale_inv").shape());
            Matrix m = ck.matrix("l.weight", rows, cols);
            assertEquals(DType.F8_E4M3, m.dtype());
            assertNotNull(m.scaleInv());
            float[] deq = ck.floats("l.weight", rows, cols);
            float[] sc = ck.floats("l.weight_scale_inv", 2, 2);
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < cols; j++) {
                    float v = deq[i * cols + j];
                    assertEquals(v, ScalarWeightRows.get(m, i, j), "matrix view and floats() agree at " + i + "," + j);
                    float s = sc[(i / 128) * 2 + j / 128];
                    // e4m3 has 3 mantissa bits: relative error <= 2^-4 for normals, absolute <= 2^-10 * s for subnormals
                    assertEquals(w[i * cols + j], v, Math.max(Math.abs(w[i * cols + j]) * 0x1p-4f, s * 0x1p-10f) * 1.0001f, i + "," + j);
                }
        }
    }

    @Test
    void shardedCheckpointRoundTripsWithIndex() throws Exception {
        Random r = new Random(3);
        SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt");
        float[][] vals = new float[10][];
        for (int i = 0; i < 10; i++) {
            vals[i] = randn(r, 16 * 8, 1f);
            String name = "model.layers." + i + ".mlp.w.weight";
            if (i % 2 == 0) w.addFloats(name, DType.F32, vals[i], 16, 8);
            else Fp8Weights.add(w, name, vals[i], 16, 8);
        }
        Path dir = tmp.resolve("sharded");
        List<Path> files = w.writeCheckpoint(dir, 1200);
        assertTrue(files.size() > 3, "expected several shards, got " + files);
        assertTrue(Files.exists(dir.resolve(Checkpoint.INDEX_FILE)));
        assertFalse(Files.exists(dir.resolve(Checkpoint.SINGLE_FILE)));
        var index = SafetensorsFile.JSON.readTree(dir.resolve(Checkpoint.INDEX_FILE).toFile());
        assertEquals(w.totalBytes(), index.get("metadata").get("total_size").asLong());
        try (Checkpoint ck = Checkpoint.open(dir)) {
            assertEquals(15, ck.names().size()); // 10 weights + 5 scales
            assertTrue(ck.files().size() > 3);
            for (int i = 0; i < 10; i++) {
                String n = "model.layers." + i + ".mlp.w.weight";
                // weight and its scale are kept in the same shard
                if (i % 2 == 1) assertEquals(ck.info(n).file(), ck.info(n + "_scale_inv").file());
                float[] back = ck.floats(n, 16, 8);
                if (i % 2 == 0) assertArrayEquals(vals[i], back);
                else for (int k = 0; k < back.length; k++) assertEquals(vals[i][k], back[k], Math.abs(vals[i][k]) * 0.07f + 1e-3f);
            }
            assertEquals("pt", ck.metadata().get("format"));
        }
        // rewriting the same directory unsharded removes the stale index
        w.writeCheckpoint(dir, 0);
        assertFalse(Files.exists(dir.resolve(Checkpoint.INDEX_FILE)));
        try (Checkpoint ck = Checkpoint.open(dir)) {
            assertEquals(1, ck.files().size());
            assertArrayEquals(vals[0], ck.floats("model.layers.0.mlp.w.weight"));
        }
    }

    @Test
    void directoryWithoutIndexOpensAllSafetensorsFiles() {
        Path dir = tmp.resolve("loose");
        new SafetensorsWriter().addFloats("x", DType.F32, new float[] {1, 2}, 2).write(dir.resolve("a.safetensors"));
        new SafetensorsWriter().addFloats("y", DType.F32, new float[] {3}, 1).write(dir.resolve("b.safetensors"));
        try (Checkpoint ck = Checkpoint.open(dir)) {
            assertEquals(Set.of("x", "y"), ck.names());
            assertArrayEquals(new float[] {3}, ck.floats("y", 1));
            assertTrue(ck.has("x"));
            assertFalse(ck.has("z"));
        }
    }
}
