package dev.jseek.train;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.io.Checkpoint;
import dev.jseek.model.ModelConfig;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Trainer over the real TrainModel (tiny MoE + MTP config): learning, bias updates, bit-identical resume, HF checkpoint. */
class TrainModelLoopTest {
    @TempDir Path tmp;
    static final int ROWS = 2, T = 6;

    /** Synthetic token windows from a counter: a repeating pattern the model can learn (not a data loader). */
    static final class PatternSource implements BatchSource<TokenBatch> {
        final int vocab;
        long counter;

        PatternSource(int vocab) { this.vocab = vocab; }

        @Override public TokenBatch next() {
            int[] w = new int[ROWS * (T + 1)];
            TrainRng r = new TrainRng(counter++ * 31 + 7);
            for (int row = 0; row < ROWS; row++) {
                int start = r.nextInt(vocab), stride = 1 + r.nextInt(2);
                for (int t = 0; t <= T; t++) w[row * (T + 1) + t] = (start + stride * t) % vocab;
            }
            return TokenBatch.fromWindows(ROWS, T, w);
        }

        @Override public int microBatchRows() { return ROWS; }
        @Override public long tokens(TokenBatch b) { return b.tokens(); }
        @Override public byte[] saveState() { return ByteBuffer.allocate(8).putLong(counter).array(); }
        @Override public void restoreState(byte[] s) { counter = ByteBuffer.wrap(s).getLong(); }
    }

    static TrainModelTrainable model(long seed) {
        TrainModel m = new TrainModel(Harness.tinyMoe(), 2 * ROWS, T);
        m.initRandom(seed, 0.1f);
        return new TrainModelTrainable(m);
    }

    static TrainerConfig cfg(Path ck) {
        return TrainerConfig.builder(LrSchedule.parse("0; linear 2s 3e-3; constant 20t; cosine 300t 3e-4"))
                .batch(new BatchRamp(2, 4, 50, 2)).emaDecay(0.9).seed(5).gamma(LrSchedule.constant(0.01))
                .lambda(LrSchedule.builder(0.3).constant(LrSchedule.Unit.STEPS, 3, 0.3).constant(LrSchedule.Unit.STEPS, 100, 0.1).build())
                .checkpoints(ck, 4, 5).configJson(Harness.tinyMoe().toJson())
                .warn(w -> { throw new AssertionError(w); }).build();
    }

    @Test
    void trainsAndResumesBitIdentically() throws Exception {
        ModelConfig c = Harness.tinyMoe();
        TrainModelTrainable a = model(1);
        int bias = a.model().layout().offset("model.layers.1.mlp.gate.e_score_correction_bias");
        List<StepMetrics> la = new ArrayList<>();
        float[] emaA;
        try (Trainer<TokenBatch> t = new Trainer<>(a, new PatternSource(c.vocabSize()), cfg(tmp.resolve("a")))) {
            t.addListener(la::add);
            t.train(8);
            emaA = t.ema().values().clone();
        }
        StepMetrics first = la.getFirst(), last = la.getLast();
        assertTrue(last.losses().main() < first.losses().main(), "main loss falls: " + first.losses() + " -> " + last.losses());
        assertTrue(first.losses().mtp() > 0 && first.losses().balance() > 0, first.losses().toString());
        assertEquals(first.losses().main() + 0.3 * first.losses().mtp() + first.losses().balance(), first.losses().total(), 1e-5);
        assertEquals(List.of(1, 2), last.moeLayers());
        assertEquals((long) last.sequences() * T * c.numExpertsPerTok(), java.util.Arrays.stream(last.expertLoad()[0]).sum());
        boolean moved = false;
        for (int i = 0; i < c.nRoutedExperts(); i++) moved |= a.params()[bias + i] != 0f;
        assertTrue(moved, "routing biases were updated");

        TrainModelTrainable b = model(2);
        List<StepMetrics> lb = new ArrayList<>();
        try (Trainer<TokenBatch> t = new Trainer<>(b, new PatternSource(c.vocabSize()), cfg(tmp.resolve("b")))) {
            t.resume(tmp.resolve("a/step-4"));
            t.addListener(lb::add);
            t.train(8);
            assertArrayEquals(emaA, t.ema().values());
        }
        for (int i = 0; i < 4; i++)
            assertEquals(Double.doubleToRawLongBits(la.get(4 + i).losses().total()), Double.doubleToRawLongBits(lb.get(i).losses().total()), "loss at step " + (5 + i));
        for (int i = 0; i < a.params().length; i++)
            assertEquals(Float.floatToRawIntBits(a.params()[i]), Float.floatToRawIntBits(b.params()[i]), "param " + i);
        // the checkpoint is an inference-loadable HF directory with config.json
        try (Checkpoint ck = Checkpoint.open(tmp.resolve("a/step-8"))) {
            assertEquals(c, ModelConfig.load(tmp.resolve("a/step-8/config.json")));
            TrainModel fresh = new TrainModel(c, ROWS, T);
            fresh.load(ck);
            assertArrayEquals(a.params(), fresh.params());
            assertTrue(ck.has("model.layers.2.embed_tokens.weight"), "MTP alias written");
        }
        assertTrue(Files.isRegularFile(tmp.resolve("a/step-8/ema.safetensors")));
    }
}
