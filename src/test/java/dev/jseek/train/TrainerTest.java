package dev.jseek.train;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jseek.io.Checkpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainerTest {
    @TempDir Path tmp;
    static final int P = RegressionStandIn.IN * RegressionStandIn.OUT + RegressionStandIn.OUT + RegressionStandIn.E;

    static TrainerConfig.Builder config(Path ckDir, Path metrics) {
        // warmup 3 steps to 0.05, constant to 100 tokens, cosine to 0.005 at 400 tokens; batch 2 -> 6 rows over 150 tokens
        LrSchedule lr = LrSchedule.parse("0; linear 3s 0.05; constant 100t; cosine 400t 0.005");
        return TrainerConfig.builder(lr)
                .adam(AdamW.Config.deepseekV3().withBf16Moments(true))
                .gamma(LrSchedule.builder(0.01).constant(LrSchedule.Unit.TOKENS, 300, 0.01).constant(LrSchedule.Unit.TOKENS, 1e9, 0).build())
                .lambda(LrSchedule.builder(0.3).constant(LrSchedule.Unit.TOKENS, 200, 0.3).constant(LrSchedule.Unit.TOKENS, 1e9, 0.1).build())
                .batch(new BatchRamp(2, 6, 150, 2)).maxGradNorm(1.0).emaDecay(0.9).seed(42)
                .checkpoints(ckDir, 3, 10).metricsFile(metrics).configJson("{\"model_type\": \"deepseek_v3\"}\n")
                .warn(w -> { throw new AssertionError("unexpected warning: " + w); });
    }

    @Test
    void resumeIsBitIdenticalToAStraightRun() throws Exception {
        int n = 10, k = 6;
        // A: 10 steps straight (checkpoints at 3, 6, 9 and 10)
        Path ckA = tmp.resolve("a"), mA = tmp.resolve("a.jsonl");
        RegressionStandIn.Model a = new RegressionStandIn.Model(1);
        List<StepMetrics> la = new ArrayList<>();
        float[] emaA;
        AdamW optA;
        try (Trainer<RegressionStandIn.Batch> t = new Trainer<>(a, new RegressionStandIn.Source(2), config(ckA, mA).build())) {
            t.addListener(la::add);
            t.train(n);
            emaA = t.ema().values().clone();
            optA = t.optimizer();
            assertEquals(n, t.stepsDone());
        }
        assertEquals(List.of("step-10", "step-3", "step-6", "step-9"), names(ckA));
        // B: a differently initialized model resumes from A's step-6 and trains 4 more steps
        RegressionStandIn.Model b = new RegressionStandIn.Model(999);
        RegressionStandIn.Source sb = new RegressionStandIn.Source(2);
        List<StepMetrics> lb = new ArrayList<>();
        Path ckB = tmp.resolve("b");
        try (Trainer<RegressionStandIn.Batch> t = new Trainer<>(b, sb, config(ckB, tmp.resolve("b.jsonl")).build())) {
            TrainState st = t.resume(ckA.resolve("step-" + k));
            assertEquals(k, st.step());
            assertEquals(k, t.stepsDone());
            t.addListener(lb::add);
            t.train(n);
            for (int i = 0; i < P; i++) {
                assertEquals(Float.floatToRawIntBits(a.params[i]), Float.floatToRawIntBits(b.params[i]), "param " + i);
                assertEquals(Float.floatToRawIntBits(emaA[i]), Float.floatToRawIntBits(t.ema().values()[i]), "ema " + i);
                assertEquals(Float.floatToRawIntBits(optA.m(i)), Float.floatToRawIntBits(t.optimizer().m(i)), "m " + i);
                assertEquals(Float.floatToRawIntBits(optA.v(i)), Float.floatToRawIntBits(t.optimizer().v(i)), "v " + i);
            }
            assertEquals(optA.step(), t.optimizer().step());
        }
        assertEquals(n - k, lb.size());
        for (int i = 0; i < n - k; i++) {
            StepMetrics x = la.get(k + i), y = lb.get(i);
            assertEquals(x.step(), y.step());
            assertEquals(x.tokens(), y.tokens());
            assertEquals(x.sequences(), y.sequences());
            assertEquals(Double.doubleToRawLongBits(x.losses().total()), Double.doubleToRawLongBits(y.losses().total()), "loss at step " + x.step());
            assertEquals(x.gradNorm(), y.gradNorm(), 0.0);
            assertEquals(x.lr(), y.lr(), 0.0);
            assertArrayEquals(x.expertLoad()[0], y.expertLoad()[0]);
        }
        // the final checkpoints are identical file by file except nothing: same state, same bytes
        for (String f : List.of("model.safetensors", "optimizer.safetensors", "ema.safetensors", "trainer_state.json"))
            assertArrayEquals(Files.readAllBytes(ckA.resolve("step-10").resolve(f)), Files.readAllBytes(ckB.resolve("step-10").resolve(f)), f);
    }

    @Test
    void schedulesBatchRampBiasAndMetricsFlowThroughTheLoop() throws Exception {
        Path metrics = tmp.resolve("m.jsonl");
        RegressionStandIn.Model m = new RegressionStandIn.Model(1);
        List<StepMetrics> ls = new ArrayList<>();
        float[] bias0 = java.util.Arrays.copyOfRange(m.params, 10, 13);
        try (Trainer<RegressionStandIn.Batch> t = new Trainer<>(m, new RegressionStandIn.Source(2), config(tmp.resolve("ck"), metrics).build())) {
            t.addListener(ls::add);
            t.train(30);
        }
        // batch ramp (evaluated at tokens before the step): 2 rows until 150/4*... exact values from BatchRamp
        BatchRamp ramp = new BatchRamp(2, 6, 150, 2);
        long tokens = 0;
        LrSchedule lr = LrSchedule.parse("0; linear 3s 0.05; constant 100t; cosine 400t 0.005");
        for (StepMetrics s : ls) {
            assertEquals(ramp.sequences(tokens), s.sequences(), "sequences at step " + s.step());
            tokens += s.sequences() * 8L;
            assertEquals(tokens, s.tokens());
            assertEquals(lr.at(s.step(), s.tokens()), s.lr(), 0.0);
            assertEquals(s.tokens() <= 200 ? 0.3 : 0.1, s.lambda(), 0.0);
            assertEquals(s.tokens() <= 300 ? 0.01 : 0.0, s.gamma(), 0.0);
            assertEquals(s.sequences(), java.util.Arrays.stream(s.expertLoad()[0]).sum(), "one routed 'expert' per sequence");
            assertEquals(StepMetrics.maxVio(s.expertLoad()[0]), s.maxVio()[0], 0.0);
        }
        assertEquals(0.05 / 3, ls.get(0).lr(), 1e-18);
        assertEquals(2, ls.get(0).sequences());
        assertEquals(6, ls.get(29).sequences());
        assertEquals(30, m.lambdas.size());
        assertEquals(0.3f, m.lambdas.get(0));
        assertEquals(0.1f, m.lambdas.get(29));
        assertTrue(ls.get(29).losses().total() < 0.5 * ls.get(0).losses().total(), "loss falls: " + ls.get(0).losses() + " -> " + ls.get(29).losses());
        float[] bias = java.util.Arrays.copyOfRange(m.params, 10, 13);
        assertFalse(java.util.Arrays.equals(bias0, bias), "the routing bias moved by the bias rule");
        for (int k = 0; k < 3; k++) {
            float steps = Math.abs(bias[k] - bias0[k]) / 0.01f;
            assertEquals(Math.round(steps), steps, 1e-3, "bias moves in multiples of gamma");
        }
        // JSONL: one line per step, flushed, with the fields
        List<String> lines = Files.readAllLines(metrics);
        assertEquals(30, lines.size());
        JsonNode j = new ObjectMapper().readTree(lines.get(4));
        for (String f : List.of("step", "tokens", "loss", "mtp_loss", "balance_loss", "grad_norm", "lr", "tokens_per_s", "expert_load", "max_vio"))
            assertTrue(j.has(f), f + " in " + lines.get(4));
        assertEquals(5, j.get("step").asLong());
        assertEquals(ls.get(4).losses().total(), j.get("loss").asDouble(), 0.0);
        assertEquals(ls.get(4).maxVio()[0], j.get("max_vio").get(0).asDouble(), 0.0);
        // checkpoints every 3 steps, keep 10, plus the final one at 30 (already a multiple of 3)
        assertEquals(10, names(tmp.resolve("ck")).size());
        try (Checkpoint ck = Checkpoint.open(tmp.resolve("ck/step-30"))) {
            assertArrayEquals(bias, ck.floats(RegressionStandIn.BIAS, 3), "the routing bias is in the model tensors");
            assertArrayEquals(java.util.Arrays.copyOfRange(m.params, 0, 8), ck.floats("lm_head.weight", 2, 4), "alias written as a copy");
        }
        assertTrue(Files.readString(tmp.resolve("ck/step-30/config.json")).contains("deepseek_v3"));
    }

    @Test
    void resumedRunRewritesMetricsAfterTheCheckpoint() throws Exception {
        Path ck = tmp.resolve("ck"), metrics = tmp.resolve("m.jsonl");
        try (Trainer<RegressionStandIn.Batch> t = new Trainer<>(new RegressionStandIn.Model(1), new RegressionStandIn.Source(2), config(ck, metrics).build())) {
            t.train(8);
        }
        assertEquals(8, Files.readAllLines(metrics).size());
        // the run "crashed" after step 8; the newest checkpoint is step-8 (final), resume from step-6 explicitly
        try (Trainer<RegressionStandIn.Batch> t = new Trainer<>(new RegressionStandIn.Model(1), new RegressionStandIn.Source(2), config(ck, metrics).build())) {
            t.resume(ck.resolve("step-6"));
            t.train(9);
        }
        List<String> lines = Files.readAllLines(metrics);
        assertEquals(9, lines.size());
        for (int i = 0; i < 9; i++) assertEquals(i + 1, new ObjectMapper().readTree(lines.get(i)).get("step").asLong());
        // resuming from the root picks the newest valid checkpoint; a corrupted newer one is set aside
        TrainCheckpointTest.flipByte(ck.resolve("step-9/ema.safetensors"), 100);
        List<String> warnings = new ArrayList<>();
        try (Trainer<RegressionStandIn.Batch> t = new Trainer<>(new RegressionStandIn.Model(1), new RegressionStandIn.Source(2),
                config(ck, metrics).warn(warnings::add).build())) {
            assertEquals(8, t.resume(ck).step());
        }
        assertEquals(2, warnings.size(), warnings.toString());
        assertTrue(warnings.get(1).contains("moved invalid checkpoint") && warnings.get(1).contains("CRC32C"), warnings.get(1));
        assertEquals(List.of("step-3", "step-6", "step-8", "step-9.invalid"), names(ck));
    }

    @Test
    void nonFiniteStepIsSkippedAndNeverCheckpointed() throws Exception {
        // SKIP: batch 3 (step 4 with a 2-row ramp) carries a NaN target
        RegressionStandIn.Model m = new RegressionStandIn.Model(1);
        RegressionStandIn.Source src = new RegressionStandIn.Source(2);
        src.nanAtBatch = 3;
        List<String> warnings = new ArrayList<>();
        List<StepMetrics> ls = new ArrayList<>();
        TrainerConfig cfg = config(tmp.resolve("skip"), null).batch(null).warn(warnings::add).build();
        try (Trainer<RegressionStandIn.Batch> t = new Trainer<>(m, src, cfg)) {
            t.addListener(ls::add);
            t.train(3);
            float[] after3 = m.params.clone();
            StepMetrics s4 = t.step();
            assertTrue(s4.skipped());
            assertTrue(Double.isNaN(s4.losses().total()));
            assertArrayEquals(after3, m.params, "a skipped step changes nothing");
            assertEquals(3, t.optimizer().step());
            assertEquals(3, t.ema().updates());
            assertEquals(1, warnings.size());
            assertTrue(warnings.get(0).contains("step 4") && warnings.get(0).contains("skipped"), warnings.get(0));
            t.train(6);
            assertEquals(5, t.optimizer().step());
            assertEquals(1, t.state().skippedSteps());
            assertEquals(0, t.state().consecutiveSkips());
        }
        // STOP: the run throws at step 4; checkpoints exist only for steps before it
        RegressionStandIn.Source s2 = new RegressionStandIn.Source(2);
        s2.nanAtBatch = 3;
        Path root = tmp.resolve("stop");
        TrainerConfig stop = config(root, null).batch(null).checkpoints(root, 1, 10).onNonFinite(TrainerConfig.NonFinitePolicy.STOP).build();
        try (Trainer<RegressionStandIn.Batch> t = new Trainer<>(new RegressionStandIn.Model(1), s2, stop)) {
            NonFiniteException e = assertThrows(NonFiniteException.class, () -> t.train(10));
            assertEquals(4, e.step());
            assertTrue(e.getMessage().contains("step 4: non-finite loss NaN"), e.getMessage());
        }
        assertEquals(List.of("step-1", "step-2", "step-3"), names(root));
        assertEquals(root.resolve("step-3"), TrainCheckpoint.latest(root, w -> fail(w)));
        // too many consecutive skips stop the run
        RegressionStandIn.Model m3 = new RegressionStandIn.Model(1) {
            @Override public StepLosses forwardBackward(RegressionStandIn.Batch b, float gs, TrainRng rng) { return StepLosses.of(Double.POSITIVE_INFINITY); }
        };
        TrainerConfig few = config(tmp.resolve("few"), null).batch(null).maxConsecutiveSkips(2).warn(w -> {}).build();
        try (Trainer<RegressionStandIn.Batch> t = new Trainer<>(m3, new RegressionStandIn.Source(2), few)) {
            NonFiniteException e = assertThrows(NonFiniteException.class, () -> t.train(10));
            assertEquals(3, e.step());
            assertTrue(e.getMessage().contains("3 consecutive steps skipped"), e.getMessage());
        }
    }

    @Test
    void progressBarRunsAlongAndEndsAtTheLastStep() {
        TrainerConfig c = config(tmp.resolve("pb"), null).progressBar(true).totalSteps(5).build();
        try (Trainer<RegressionStandIn.Batch> t = new Trainer<>(new RegressionStandIn.Model(1), new RegressionStandIn.Source(2), c)) {
            t.train();
            assertEquals(5, t.stepsDone());
        }
    }

    @Test
    void progressMessage() {
        StepMetrics s = new StepMetrics(7, 1000, 4, new StepLosses(2.5, 2.4, 0.3, 0.01), 0.9, 2.2e-4, 0.001, 0.3, 0.5, 12345, false,
                List.of(), new long[0][], new double[0]);
        assertEquals("loss 2.5000 12.3k tok/s lr 2.20e-04", TrainProgress.message(s));
        assertEquals(0.5, StepMetrics.maxVio(new long[] {3, 1, 2, 2}), 1e-15);
        assertEquals(0.0, StepMetrics.maxVio(new long[] {0, 0}));
    }

    static List<String> names(Path root) throws Exception {
        try (var s = Files.list(root)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
