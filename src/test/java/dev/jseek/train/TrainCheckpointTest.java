package dev.jseek.train;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.io.Checkpoint;
import dev.jseek.io.FormatException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainCheckpointTest {
    @TempDir Path tmp;

    static final String BIAS = "model.layers.0.mlp.gate.e_score_correction_bias";

    record Run(List<TrainTensor> tensors, float[] params, AdamW opt, Ema ema) implements AutoCloseable {
        @Override public void close() { if (ema != null) ema.close(); }
    }

    static Run run(long seed, boolean bf16, boolean withEma, int steps) {
        List<TrainTensor> ts = AdamWTest.layout();
        SplittableRandom r = new SplittableRandom(seed);
        float[] p = AdamWTest.randomParams(r, 228);
        AdamW opt = new AdamW(AdamW.Config.deepseekV3().withBf16Moments(bf16), 228, ts);
        Ema ema = withEma ? new Ema(p, 0.95) : null;
        float[] g = new float[228];
        for (int s = 0; s < steps; s++) {
            for (int i = 0; i < g.length; i++) g[i] = (float) r.nextGaussian();
            opt.step(p, g, 1e-2, 1);
            p[145] += 0.001f; // the routing bias moves by the bias rule, not the optimizer
            if (ema != null) ema.submit(p);
        }
        return new Run(ts, p, opt, ema);
    }

    static TrainCheckpoint.Contents contents(Run r, long step) {
        TrainState st = new TrainState(step, step * 1000, r.opt.step(), r.ema == null ? 0 : r.ema.updates(), 0xDEADBEEFCAFEL + step,
                ("{\"epoch\":0,\"cursor\":" + step + "}").getBytes(), 0, 0);
        return new TrainCheckpoint.Contents(st, r.params, r.tensors, Map.of("model.layers.1.embed_tokens.weight", "lm_head.weight"),
                r.opt, r.ema == null ? null : r.ema.values(), "{\"model_type\": \"deepseek_v3\"}\n");
    }

    @Test
    void roundTripIsBitExact() throws Exception {
        for (boolean bf16 : new boolean[] {false, true}) {
            Path root = tmp.resolve(bf16 ? "bf16" : "f32");
            try (Run a = run(1, bf16, true, 5); Run b = run(99, bf16, true, 0)) {
                Path dir = TrainCheckpoint.save(root, contents(a, 5), 0);
                assertEquals(root.resolve("step-5"), dir);
                assertFalse(Files.exists(root.resolve("step-5.tmp")));
                for (String f : List.of("model.safetensors", "config.json", "optimizer.safetensors", "ema.safetensors", "trainer_state.json", "manifest.json"))
                    assertTrue(Files.isRegularFile(dir.resolve(f)), f);
                TrainState st = TrainCheckpoint.load(dir, b.params, b.tensors, b.opt, b.ema, w -> fail(w));
                assertEquals(contents(a, 5).state(), st);
                for (int i = 0; i < 228; i++) {
                    assertEquals(Float.floatToRawIntBits(a.params[i]), Float.floatToRawIntBits(b.params[i]), "param " + i);
                    assertEquals(Float.floatToRawIntBits(a.opt.m(i)), Float.floatToRawIntBits(b.opt.m(i)), "m " + i);
                    assertEquals(Float.floatToRawIntBits(a.opt.v(i)), Float.floatToRawIntBits(b.opt.v(i)), "v " + i);
                    assertEquals(Float.floatToRawIntBits(a.ema.values()[i]), Float.floatToRawIntBits(b.ema.values()[i]), "ema " + i);
                }
                assertEquals(5, b.opt.step());
                assertEquals(5, b.ema.updates());
                // the model part is an HF checkpoint directory that inference opens
                try (Checkpoint ck = Checkpoint.open(dir)) {
                    assertArrayEquals(java.util.Arrays.copyOfRange(a.params, 144, 148), ck.floats(BIAS, 4));
                    assertArrayEquals(java.util.Arrays.copyOfRange(a.params, 148, 228), ck.floats("lm_head.weight", 5, 16));
                    assertArrayEquals(java.util.Arrays.copyOfRange(a.params, 148, 228), ck.floats("model.layers.1.embed_tokens.weight", 5, 16), "alias copy");
                    assertEquals("pt", ck.metadata().get("format"));
                    assertFalse(ck.has("exp_avg.lm_head.weight"), "optimizer state is not part of the model");
                }
            }
        }
    }

    @Test
    void shardedModelRoundTrips() {
        try (Run a = run(4, false, false, 2); Run b = run(5, false, false, 0)) {
            Path dir = TrainCheckpoint.save(tmp, contents(a, 2), 300);
            assertTrue(Files.isRegularFile(dir.resolve(Checkpoint.INDEX_FILE)));
            assertFalse(Files.exists(dir.resolve("ema.safetensors")));
            TrainCheckpoint.load(dir, b.params, b.tensors, b.opt, null, w -> fail(w));
            assertArrayEquals(a.params, b.params);
        }
    }

    @Test
    void optimizerStorageConvertsBetweenF32AndBf16() {
        try (Run a = run(6, false, false, 3); Run b = run(7, true, false, 0)) {
            Path dir = TrainCheckpoint.save(tmp, contents(a, 3), 0);
            TrainCheckpoint.load(dir, b.params, b.tensors, b.opt, null, w -> fail(w));
            for (int i = 0; i < 228; i++) assertEquals(AdamWTest.roundBf16(a.opt.m(i)), b.opt.m(i), 0f);
        }
    }

    @Test
    void corruptedTruncatedAndIncompleteCheckpointsAreSkipped() throws Exception {
        Path root = tmp.resolve("ck");
        for (int s = 1; s <= 4; s++) try (Run a = run(s, false, true, s)) { TrainCheckpoint.save(root, contents(a, s), 0); }
        // step-4: one flipped byte in the model; step-3: truncated optimizer file; step-5: no manifest; step-6.tmp: interrupted write
        flipByte(root.resolve("step-4/model.safetensors"), 200);
        try (RandomAccessFile f = new RandomAccessFile(root.resolve("step-3/optimizer.safetensors").toFile(), "rw")) { f.setLength(f.length() - 10); }
        Files.createDirectories(root.resolve("step-5"));
        Files.writeString(root.resolve("step-5/trainer_state.json"), "{}");
        Files.createDirectories(root.resolve("step-6.tmp"));
        List<String> warnings = new ArrayList<>();
        assertEquals(root.resolve("step-2"), TrainCheckpoint.latest(root, warnings::add));
        assertEquals(3, warnings.size(), warnings.toString());
        assertTrue(warnings.get(0).contains("step-5") && warnings.get(0).contains("no manifest.json"), warnings.get(0));
        assertTrue(warnings.get(1).contains("step-4/model.safetensors") && warnings.get(1).contains("CRC32C"), warnings.get(1));
        assertTrue(warnings.get(2).contains("step-3/optimizer.safetensors") && warnings.get(2).contains("size"), warnings.get(2));
        FormatException e = assertThrows(FormatException.class, () -> TrainCheckpoint.resolve(root.resolve("step-4"), w -> {}));
        assertTrue(e.getMessage().contains("CRC32C"));
        try (Run b = run(9, false, true, 0)) {
            assertThrows(FormatException.class, () -> TrainCheckpoint.load(root.resolve("step-4"), b.params, b.tensors, b.opt, b.ema, w -> {}));
        }
        assertNull(TrainCheckpoint.latest(tmp.resolve("nothing-here"), warnings::add));
    }

    static void flipByte(Path f, long pos) throws Exception {
        try (RandomAccessFile r = new RandomAccessFile(f.toFile(), "rw")) {
            r.seek(pos);
            int b = r.read();
            r.seek(pos);
            r.write(b ^ 0x01);
        }
    }

    @Test
    void keepsTheLastN() throws Exception {
        Path root = tmp.resolve("keep");
        try (Run a = run(3, false, false, 1)) {
            for (int s = 1; s <= 5; s++) {
                TrainCheckpoint.save(root, contents(a, s * 10), 0);
                TrainCheckpoint.prune(root, 2);
            }
            Files.createDirectories(root.resolve("step-60.tmp"));
            TrainCheckpoint.prune(root, 2);
            try (var l = Files.list(root)) {
                assertEquals(List.of("step-40", "step-50"), l.map(p -> p.getFileName().toString()).sorted().toList());
            }
            // saving a step that already exists replaces it atomically
            TrainCheckpoint.save(root, contents(a, 50), 0);
            TrainCheckpoint.verify(root.resolve("step-50"));
        }
    }

    @Test
    void refusesNonFiniteParameters() {
        try (Run a = run(8, false, false, 1)) {
            a.params[3] = Float.NaN;
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> TrainCheckpoint.save(tmp, contents(a, 1), 0));
            assertTrue(e.getMessage().contains("model.layers.0.mlp.experts.0.up_proj.weight[3] = NaN"), e.getMessage());
            assertFalse(Files.exists(tmp.resolve("step-1")));
        }
    }

    @Test
    void stateJsonRejectsBadFields() {
        TrainState s = new TrainState(3, 100, 3, 3, -5, new byte[] {1, 2}, 0, 0);
        assertEquals(s, TrainState.fromJson(s.toJson(), Path.of("x.json")));
        String bad = new String(s.toJson()).replace("\"tokens\" : 100", "\"tokens\" : \"many\"");
        FormatException e = assertThrows(FormatException.class, () -> TrainState.fromJson(bad.getBytes(), Path.of("x.json")));
        assertTrue(e.getMessage().contains("x.json") && e.getMessage().contains("tokens"), e.getMessage());
    }
}
